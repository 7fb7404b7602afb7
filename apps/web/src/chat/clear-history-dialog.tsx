import type { RefObject } from 'react';
import { ConfirmDialog } from '../ui/confirm-dialog';

interface ClearHistoryDialogProps {
  open: boolean;
  clearing: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  /** Where focus goes if the button that opened the dialog can't take it back (Clear is disabled once empty). */
  fallbackFocusRef: RefObject<HTMLElement | null>;
}

/** Clearing can't be undone, so it is confirmed first (see ConfirmDialog). */
export function ClearHistoryDialog({ open, clearing, onConfirm, onCancel, fallbackFocusRef }: ClearHistoryDialogProps) {
  return (
    <ConfirmDialog
      open={open}
      title="Clear conversation?"
      description="All messages in this conversation will be deleted. This can’t be undone."
      confirmLabel="Clear conversation"
      busyLabel="Clearing…"
      busy={clearing}
      onConfirm={onConfirm}
      onCancel={onCancel}
      fallbackFocusRef={fallbackFocusRef}
    />
  );
}
