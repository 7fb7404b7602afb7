import { createClient } from '@redis/client';

const MAX_RECONNECT_DELAY_MS = 1_000;

/**
 * Commands are never queued while Redis is away (`disableOfflineQueue`): a turn publishing into an outage
 * drops the batch at once instead of piling it up, and a request gets its error at once instead of hanging.
 * Reconnecting (and resubscribing) is node-redis's own, retried for as long as the process lives.
 */
export function redisClient(url: string) {
  return createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 2_000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS),
    },
  });
}

export type RedisClient = ReturnType<typeof redisClient>;
