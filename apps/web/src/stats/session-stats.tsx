import { useQuery } from '@tanstack/react-query';
import { memo } from 'react';
import { limitMessageOf } from '../chat/describe-error';
import { threadInput, type ThreadKey } from '../threads/thread-key';
import { useTRPC } from '../trpc';
import { formatCount, formatDateTime } from './format';

/**
 * The numbers behind the conversation shown. Refetched whenever a turn finishes or the history is cleared; memo, so
 * the chat screen re-rendering on every frame of a streaming reply leaves it alone.
 */
export const SessionStats = memo(function SessionStats({ id, threadKey }: { id: string; threadKey: ThreadKey }) {
  const trpc = useTRPC();
  const stats = useQuery(trpc.chat.sessions.queryOptions(threadInput(threadKey)));

  return (
    <section id={id} className="stats" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="stats-title">
        Session
      </h2>
      {stats.isError && (
        <div className="inline-error compact" role="alert">
          <p>Couldn’t load session stats.</p>
          {limitMessageOf(stats.error) && <p>{limitMessageOf(stats.error)}</p>}
          <button type="button" className="button" onClick={() => void stats.refetch()}>
            Retry
          </button>
        </div>
      )}
      <dl className="stats-list" aria-busy={stats.isPending}>
        <div>
          <dt>Messages</dt>
          <dd data-stat="messages">{stats.data ? formatCount(stats.data.total_messages) : '—'}</dd>
        </div>
        <div>
          <dt>Tokens used</dt>
          <dd data-stat="tokens">
            {stats.data ? formatCount(stats.data.total_tokens) : '—'}
            {/* Counted by the tokenizer where the provider reported nothing, so not to the token. */}
            {stats.data && stats.data.estimated_tokens > 0 && (
              <span className="stat-detail"> ({formatCount(stats.data.estimated_tokens)} estimated)</span>
            )}
          </dd>
        </div>
        {stats.data?.limits.daily_tokens && (
          <div>
            <dt>Today</dt>
            <dd data-stat="daily">
              {formatCount(stats.data.limits.daily_tokens.used)} of {formatCount(stats.data.limits.daily_tokens.limit)} tokens
              <span className="stat-detail"> (resets {formatDateTime(stats.data.limits.daily_tokens.resets_at)})</span>
            </dd>
          </div>
        )}
        <div>
          <dt>Session start</dt>
          <dd data-stat="start">{formatDateTime(stats.data?.session_start ?? null)}</dd>
        </div>
        <div>
          <dt>Last activity</dt>
          <dd data-stat="last">{formatDateTime(stats.data?.last_activity ?? null)}</dd>
        </div>
      </dl>
      {stats.data && <p className="stats-user">Signed in as <strong>{stats.data.user_id}</strong></p>}
    </section>
  );
});
