import { useEffect, useId, useRef } from 'react';
import type { MessageAttachment } from './attachment-types';
import { useAttachmentImage } from './use-attachment-image';

interface PhotoLightboxProps {
  attachment: MessageAttachment;
  /** "Photo 2 of 3". */
  label: string;
  onClose: () => void;
}

/**
 * A photo at full size in a modal <dialog>: the browser keeps focus inside and closes it on Escape; focus goes
 * back to the thumbnail that opened it. The thumbnail stands in while the full image loads.
 */
export function PhotoLightbox({ attachment, label, onClose }: PhotoLightboxProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const full = useAttachmentImage(attachment.id, 'full');
  const thumbnail = useAttachmentImage(attachment.id, 'thumbnail');
  const url = full.url ?? thumbnail.url;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    closeRef.current?.focus();
    return () => {
      if (dialog.open) dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      className="photo-lightbox"
      aria-labelledby={titleId}
      onClose={onClose}
      onClick={(event) => {
        // A click on the backdrop lands on the dialog element itself.
        if (event.target === event.currentTarget) onClose();
      }}
    >
      <div className="photo-lightbox-bar">
        <h2 id={titleId}>{label}</h2>
        <button ref={closeRef} type="button" className="button" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="photo-lightbox-frame" aria-busy={full.url === null && !full.failed}>
        {url ? (
          <img
            src={url}
            alt={label}
            width={attachment.width}
            height={attachment.height}
            data-variant={full.url ? 'full' : 'thumbnail'}
          />
        ) : (
          <p className="muted">{full.failed ? 'The photo couldn’t be loaded.' : 'Loading the photo…'}</p>
        )}
      </div>
    </dialog>
  );
}
