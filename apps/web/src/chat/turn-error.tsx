import type { ChatError } from './describe-error';

interface TurnErrorProps {
  error: ChatError;
  onRetry: () => void;
  onDismiss?: () => void;
}

export function TurnError({ error, onRetry, onDismiss }: TurnErrorProps) {
  // A rejected message would be rejected again; everything else may pass on a second try.
  const retryable = error.kind !== 'invalid';
  return (
    <div className={`inline-error error-${error.kind}`} role="alert">
      <div className="inline-error-text">
        <strong>{error.title}</strong>
        <p>{error.detail}</p>
      </div>
      <div className="inline-error-actions">
        {retryable && (
          <button type="button" className="button" onClick={onRetry}>
            Retry
          </button>
        )}
        {onDismiss && (
          <button type="button" className="button button-quiet" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </div>
    </div>
  );
}
