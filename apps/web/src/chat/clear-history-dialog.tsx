import { useEffect, useId, useRef, type RefObject } from 'react';

interface ClearHistoryDialogProps {
  open: boolean;
  clearing: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  /** Where focus goes if the button that opened the dialog can't take it back (Clear is disabled once empty). */
  fallbackFocusRef: RefObject<HTMLElement | null>;
}

function focusIsLost(): boolean {
  const active = document.activeElement;
  return !(active instanceof HTMLElement) || active === document.body || active.matches(':disabled');
}

/**
 * A modal <dialog>: the browser traps focus inside it, closes it on Escape and returns focus to the button
 * that opened it. Cancel takes the initial focus because clearing can't be undone.
 */
export function ClearHistoryDialog({ open, clearing, onConfirm, onCancel, fallbackFocusRef }: ClearHistoryDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descriptionId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) {
      dialog.close();
      if (focusIsLost()) fallbackFocusRef.current?.focus();
    }
  }, [open, fallbackFocusRef]);

  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={descriptionId}
      onClose={onCancel}
      onClick={(event) => {
        // A click on the backdrop lands on the dialog element itself.
        if (event.target === event.currentTarget) onCancel();
      }}
    >
      <div className="dialog-body">
        <h2 id={titleId}>Clear conversation?</h2>
        <p id={descriptionId}>All messages in this conversation will be deleted. This can’t be undone.</p>
        <div className="dialog-actions">
          <button type="button" className="button" autoFocus onClick={onCancel}>
            Cancel
          </button>
          <button type="button" className="button button-danger" disabled={clearing} onClick={onConfirm}>
            {clearing ? 'Clearing…' : 'Clear conversation'}
          </button>
        </div>
      </div>
    </dialog>
  );
}
