import fastifyRateLimit, { type FastifyRateLimitStore } from '@fastify/rate-limit';
import { RateLimited, type RequestLimiter } from '@fixthread/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticateHeader } from '../auth/authenticate';
import type { VerifyToken } from '../auth/verify-token';

/** HTTP routes that spend a user's requests: the chat API and tRPC over HTTP. Health, metrics, docs and the web client never do. */
const LIMITED = /^\/(chat|trpc)(\/|\?|$)/;

/**
 * RATE_LIMIT_PER_MINUTE over HTTP, by @fastify/rate-limit with our counter as its store (Redis when
 * configured, so instances share one count per user). Requests are keyed by the user id of their bearer
 * token. One without a valid token is not counted: auth answers it 401, and keying it by IP would put every
 * user behind one proxy into one bucket. A WebSocket's calls never pass these hooks: the tRPC middleware
 * counts them (`protectedProcedure`). Register before the routes.
 */
export async function registerRateLimit(app: FastifyInstance, limiter: RequestLimiter, verify: VerifyToken): Promise<void> {
  const { counter, windowMs } = limiter;
  class CounterStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void): void {
      counter.hit(key, windowMs).then(
        // The counter could not answer (Redis down or slow): let the request through.
        (window) => callback(null, window ? { current: window.count, ttl: window.resetInMs } : { current: 0, ttl: windowMs }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(): FastifyRateLimitStore {
      return this;
    }
  }
  await app.register(fastifyRateLimit, {
    global: true,
    max: limiter.perMinute,
    timeWindow: windowMs,
    store: CounterStore,
    skipOnError: true,
    keyGenerator: async (request) => (await limitedUserOf(request, verify)) ?? '',
    allowList: (_request, key) => key === '',
    errorResponseBuilder: (_request, context) => new RateLimited(limiter.perMinute, new Date(Date.now() + context.ttl)),
  });
}

/** Chat routes have authenticated by now (their hook runs first); tRPC over HTTP authenticates in its context, later. */
async function limitedUserOf(request: FastifyRequest, verify: VerifyToken): Promise<string | undefined> {
  if (!LIMITED.test(request.url)) return undefined;
  if (request.userId) return request.userId;
  if (!request.headers.authorization) return undefined;
  try {
    return (await authenticateHeader(verify, request.headers.authorization)).userId;
  } catch {
    return undefined;
  }
}
