interface ChatHeaderProps {
  statsId: string;
  statsOpen: boolean;
  canClear: boolean;
  onToggleStats: () => void;
  onClear: () => void;
  onSignOut: () => void;
}

export function ChatHeader({ statsId, statsOpen, canClear, onToggleStats, onClear, onSignOut }: ChatHeaderProps) {
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        <span>FixThread</span>
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
