export function ConnectionBanner({ onRetry }: { onRetry: () => void }) {
  return (
    <div className="connection-banner" role="status">
      <span className="spinner" aria-hidden="true" />
      <span>Connection lost. Reconnecting…</span>
      <button type="button" className="button button-quiet" onClick={onRetry}>
        Retry now
      </button>
    </div>
  );
}
