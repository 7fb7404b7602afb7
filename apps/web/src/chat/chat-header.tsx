import type { ReactNode } from 'react';

interface ChatHeaderProps {
  /** The thread shown. */
  title: string;
  /** The button that opens the thread list, where it is a drawer (a phone); none beside a sidebar. */
  threadsButton?: ReactNode;
  statsId: string;
  statsOpen: boolean;
  canClear: boolean;
  onToggleStats: () => void;
  onClear: () => void;
  onSignOut: () => void;
}

export function ChatHeader({
  title,
  threadsButton,
  statsId,
  statsOpen,
  canClear,
  onToggleStats,
  onClear,
  onSignOut,
}: ChatHeaderProps) {
  return (
    <header className="topbar">
      <div className="topbar-lead">
        {threadsButton}
        {threadsButton && <span className="brand-mark topbar-mark" aria-hidden="true" />}
        <h1 className="thread-heading" title={title}>
          {title}
        </h1>
      </div>
      <nav className="topbar-actions" aria-label="Conversation">
        <button
          type="button"
          className="button button-quiet stats-toggle"
          aria-expanded={statsOpen}
          aria-controls={statsId}
          onClick={onToggleStats}
        >
          Stats
        </button>
        <button type="button" className="button button-quiet" disabled={!canClear} onClick={onClear}>
          Clear
        </button>
        <button type="button" className="button button-quiet" onClick={onSignOut}>
          Sign out
        </button>
      </nav>
    </header>
  );
}
