import { useState } from 'react';
import type { PendingAttachment, PendingState } from './pending-attachments';

interface PhotoPreviewsProps {
  state: PendingState;
  onRemove: (key: string) => void;
}

/** The local file, or its type in words where the browser can't draw it (HEIC outside Safari). */
function PreviewImage({ item, label }: { item: PendingAttachment; label: string }) {
  const [broken, setBroken] = useState(false);
  if (broken) {
    const extension = /\.(\w{1,5})$/.exec(item.name)?.[1]?.toUpperCase() ?? 'FILE';
    return (
      <span className="photo-preview-fallback" role="img" aria-label={label}>
        {extension}
      </span>
    );
  }
  return <img src={item.previewUrl} alt={label} onError={() => setBroken(true)} />;
}

/**
 * The photos about to be sent, from their local files: each with its upload's progress and a Remove button;
 * what went wrong (a refused upload, a 5th photo) is said underneath, in words.
 */
export function PhotoPreviews({ state, onRemove }: PhotoPreviewsProps) {
  const { items, notice } = state;
  const failed = items.flatMap((item, index) => (item.error ? [{ item, index }] : []));
  if (items.length === 0 && !notice) return null;
  return (
    <div className="composer-photos">
      {items.length > 0 && (
        <ul className="photo-previews" aria-label="Photos to send">
          {items.map((item, index) => (
            <li key={item.key} className={`photo-preview photo-${item.status}`} data-status={item.status}>
              <PreviewImage item={item} label={`Photo ${index + 1}: ${item.name}`} />
              {item.status === 'uploading' && (
                <progress className="photo-progress" max={100} value={item.progress} aria-label={`Uploading photo ${index + 1}`}>
                  {item.progress}%
                </progress>
              )}
              {item.status === 'failed' && (
                <span className="photo-failed-badge" aria-hidden="true">
                  !
                </span>
              )}
              <button
                type="button"
                className="photo-remove"
                aria-label={`Remove photo ${index + 1}`}
                title={`Remove ${item.name}`}
                onClick={() => onRemove(item.key)}
              >
                <svg aria-hidden="true" viewBox="0 0 16 16" width="12" height="12">
                  <path d="M4 4l8 8M12 4l-8 8" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
                </svg>
              </button>
            </li>
          ))}
        </ul>
      )}
      {(failed.length > 0 || notice) && (
        <div className="photo-problems" role="alert">
          {failed.map(({ item, index }) => (
            <p key={item.key}>
              Photo {index + 1} ({item.name}): {item.error}
            </p>
          ))}
          {failed.length > 0 && <p>Remove {failed.length === 1 ? 'it' : 'them'} to send your message.</p>}
          {notice && <p>{notice}</p>}
        </div>
      )}
    </div>
  );
}
