import { useState } from 'react';
import type { MessageAttachment } from './attachment-types';
import { fitWithin } from './fit-size';
import { PhotoLightbox } from './photo-lightbox';
import { useAttachmentImage } from './use-attachment-image';

/** The long side of a thumbnail in a message, in CSS pixels (the server's are 256 px, for sharp screens). */
const THUMBNAIL_BOX = 160;

function photoLabel(index: number, count: number): string {
  return count === 1 ? 'Photo' : `Photo ${index + 1} of ${count}`;
}

function PhotoThumbnail({ attachment, label, onOpen }: { attachment: MessageAttachment; label: string; onOpen: () => void }) {
  const image = useAttachmentImage(attachment.id, 'thumbnail');
  // The history's dimensions reserve the space before the image arrives, so nothing below it moves.
  const size = fitWithin(attachment.width, attachment.height, THUMBNAIL_BOX);
  if (image.failed) {
    return (
      <button type="button" className="photo-thumbnail photo-thumbnail-failed" style={size} onClick={image.retry}>
        Photo didn’t load. Retry
      </button>
    );
  }
  return (
    <button type="button" className="photo-thumbnail" aria-label={`Open ${label.toLowerCase()} full size`} onClick={onOpen}>
      {image.url ? (
        <img src={image.url} alt={label} width={size.width} height={size.height} data-attachment-id={attachment.id} />
      ) : (
        <span className="photo-placeholder" style={size} aria-hidden="true" />
      )}
    </button>
  );
}

/** A question's photos, in order; each opens full size. */
export function MessageAttachments({ attachments }: { attachments: readonly MessageAttachment[] }) {
  const [open, setOpen] = useState<number | null>(null);
  if (attachments.length === 0) return null;
  const shown = open === null ? undefined : attachments[open];
  return (
    <div className="message-photos">
      {attachments.map((attachment, index) => (
        <PhotoThumbnail
          key={attachment.id}
          attachment={attachment}
          label={photoLabel(index, attachments.length)}
          onOpen={() => setOpen(index)}
        />
      ))}
      {shown && open !== null && (
        <PhotoLightbox attachment={shown} label={photoLabel(open, attachments.length)} onClose={() => setOpen(null)} />
      )}
    </div>
  );
}
