import { RateLimited } from '../errors';
import type { RequestCounter } from './request-counter';
import type { LimitUsage } from './session-limits';

export const RATE_LIMIT_WINDOW_MS = 60_000;

/**
 * RATE_LIMIT_PER_MINUTE: requests per user in fixed one-minute windows, counted wherever the counter keeps
 * them (Redis, across instances). Transports count each request once: HTTP in a Fastify hook, WebSocket calls
 * in a tRPC middleware.
 */
export function createRequestLimiter(counter: RequestCounter, perMinute: number, now: () => number = Date.now) {
  return {
    perMinute,
    windowMs: RATE_LIMIT_WINDOW_MS,
    counter,
    /** Counts a request; RateLimited when it is over the limit. A counter that cannot answer lets it through. */
    async check(userId: string): Promise<void> {
      const window = await counter.hit(userId, RATE_LIMIT_WINDOW_MS);
      if (window && window.count > perMinute) throw new RateLimited(perMinute, new Date(now() + window.resetInMs));
    },
    async usage(userId: string): Promise<LimitUsage> {
      const window = await counter.peek(userId);
      const open = window !== null && window.count > 0;
      return {
        limit: perMinute,
        used: open ? window.count : 0,
        resets_at: open ? new Date(now() + window.resetInMs).toISOString() : null,
      };
    },
  };
}

export type RequestLimiter = ReturnType<typeof createRequestLimiter>;
