import { useEffect, useRef, type ReactNode } from 'react';
import { trapTab } from './focus-trap';

interface DrawerProps {
  id: string;
  open: boolean;
  onClose: () => void;
  /** The drawer's accessible name. */
  label: string;
  children: ReactNode;
}

/**
 * A panel that slides over the page from the left (the thread list on a phone). A modal <dialog>: the page
 * behind is inert, Escape closes it, a tap on the backdrop too, Tab stays inside, and focus goes back to what
 * opened it when it closes.
 */
export function Drawer({ id, open, onClose, label, children }: DrawerProps) {
  const ref = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);

  return (
    <dialog
      ref={ref}
      id={id}
      className="drawer"
      aria-label={label}
      onClose={onClose}
      onCancel={(event) => {
        // Escape: closed through the state, like every other way out.
        event.preventDefault();
        onClose();
      }}
      onClick={(event) => {
        // The panel fills the dialog's box; a click on the dialog element itself is on the backdrop.
        if (event.target === event.currentTarget) onClose();
      }}
      onKeyDown={(event) => {
        if (ref.current) trapTab(event, ref.current);
      }}
    >
      {/* Kept while closed (a closed dialog is not rendered): a search typed in it is still there next time. */}
      {children}
    </dialog>
  );
}
