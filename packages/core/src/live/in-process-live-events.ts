import type { LiveEvents } from './live-events';

/**
 * The embedded default (no REDIS_URL): one instance, whose readers follow its turns in memory (`TurnLog`)
 * and whose stops reach them directly, so there is nothing to carry. A second instance on the same database
 * without Redis still works, more slowly: its readers poll the database and stops go through it.
 */
export function inProcessLiveEvents(): LiveEvents {
  return {
    kind: 'in-process',
    publish: () => {},
    end: () => {},
    follow: () => undefined,
    broadcast: async () => {},
    onControl: () => () => {},
    status: async () => 'disabled',
    close: async () => {},
  };
}
