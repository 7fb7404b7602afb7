import { useEffect, useState } from 'react';
import { useApiToken } from '../../api-provider';
import { attachmentImages, type ImageState, type ImageVariant } from './attachment-images';

/**
 * A stored photo as a blob URL, fetched with the bearer token (see AttachmentImages) and held while the
 * component shows it. `url` is null while it loads; `retry` loads a failed one again.
 */
export function useAttachmentImage(id: string, variant: ImageVariant): ImageState & { retry: () => void } {
  const token = useApiToken();
  // A photo just sent is cached already (its local preview): the first render shows it, without a blink.
  const [state, setState] = useState<ImageState>(() => attachmentImages.get(token, id, variant));

  useEffect(() => {
    setState(attachmentImages.acquire(token, id, variant));
    const unsubscribe = attachmentImages.subscribe(token, id, variant, () => setState(attachmentImages.get(token, id, variant)));
    return () => {
      unsubscribe();
      attachmentImages.release(token, id, variant);
    };
  }, [token, id, variant]);

  return { ...state, retry: () => attachmentImages.retry(token, id, variant) };
}
