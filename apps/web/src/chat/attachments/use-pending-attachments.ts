import { useCallback, useEffect, useReducer, useRef } from 'react';
import { useApiToken } from '../../api-provider';
import { useAuth } from '../../auth/auth-context';
import { attachmentImages } from './attachment-images';
import type { MessageAttachment } from './attachment-types';
import { admitFiles, NO_ATTACHMENTS, pendingReducer, uploadedAttachments, type PendingAttachment, type PendingState } from './pending-attachments';
import { uploadAttachment, UploadError } from './upload-attachment';

export interface PendingAttachments {
  state: PendingState;
  /** Adds photos (chosen, dropped or pasted) and starts uploading each one. */
  add: (files: readonly File[]) => void;
  /** Cancels the photo's upload if it is still running, and drops it. */
  remove: (key: string) => void;
  /**
   * The uploaded photos, for the message being sent, and an empty composer. Their previews go on showing
   * the sent message's thumbnails (see AttachmentImages.adopt).
   */
  takeForSend: () => MessageAttachment[];
}

function newKey(): string {
  return `local-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/**
 * The composer's photos: each uploads as soon as it is added (with progress), and is shown from its local file
 * meanwhile. Whatever is still held when the composer goes (a thread switch, signing out) is cancelled and
 * its preview URL revoked.
 */
export function usePendingAttachments(): PendingAttachments {
  const token = useApiToken();
  const { signOut } = useAuth();
  const [state, dispatch] = useReducer(pendingReducer, NO_ATTACHMENTS);
  // Kept here, not in the state, so two additions before a render still count each other's photos.
  const held = useRef(new Map<string, { url: string; upload: AbortController }>());

  const add = useCallback(
    (files: readonly File[]) => {
      if (files.length === 0) return;
      const { admitted, notice } = admitFiles(held.current.size, files);
      const items: PendingAttachment[] = admitted.map((file) => {
        const key = newKey();
        const url = URL.createObjectURL(file);
        const upload = new AbortController();
        held.current.set(key, { url, upload });
        uploadAttachment(file, {
          token,
          signal: upload.signal,
          onProgress: (progress) => dispatch({ type: 'progress', key, progress }),
        }).then(
          (attachment) => dispatch({ type: 'uploaded', key, attachment }),
          (error: unknown) => {
            if (isAbort(error)) return;
            if (error instanceof UploadError && error.status === 401) return signOut(error.message);
            dispatch({ type: 'failed', key, error: error instanceof Error ? error.message : 'The photo couldn’t be uploaded.' });
          },
        );
        return { key, name: file.name, previewUrl: url, status: 'uploading', progress: 0, uploaded: null, error: null };
      });
      if (items.length === 0 && notice) return dispatch({ type: 'refused', notice });
      dispatch({ type: 'added', items, notice });
    },
    [token, signOut],
  );

  const remove = useCallback((key: string) => {
    const entry = held.current.get(key);
    if (entry) {
      held.current.delete(key);
      entry.upload.abort();
      URL.revokeObjectURL(entry.url);
    }
    dispatch({ type: 'removed', key });
  }, []);

  const takeForSend = useCallback((): MessageAttachment[] => {
    const sent = uploadedAttachments(state).map(({ id, content_type, width, height }) => ({ id, content_type, width, height }));
    for (const item of state.items) {
      const entry = held.current.get(item.key);
      if (!entry) continue;
      held.current.delete(item.key);
      if (item.uploaded) attachmentImages.adopt(token, item.uploaded.id, entry.url);
      else {
        entry.upload.abort();
        URL.revokeObjectURL(entry.url);
      }
    }
    dispatch({ type: 'sent' });
    return sent;
  }, [state, token]);

  useEffect(() => {
    const owned = held.current;
    return () => {
      for (const { url, upload } of owned.values()) {
        upload.abort();
        URL.revokeObjectURL(url);
      }
      owned.clear();
    };
  }, []);

  return { state, add, remove, takeForSend };
}
