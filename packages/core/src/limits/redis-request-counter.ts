import { redisClient, type RedisClient } from '../live/redis-client';
import { within } from '../live/within';
import type { RequestCounter, WindowCount } from './request-counter';

/**
 * INCR and the window's expiry in one script, so concurrent requests on any number of instances never lose a
 * count, and a key never outlives its window (a crash between the two commands cannot leave it forever).
 */
const HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

const PEEK = `
local count = redis.call('GET', KEYS[1])
if not count then return {0, 0} end
return {tonumber(count), redis.call('PTTL', KEYS[1])}`;

export interface RedisRequestCounterOptions {
  url: string;
  /** REDIS_KEY_PREFIX: keys are `<prefix>ratelimit:<key>`. */
  prefix: string;
  /** A request waits no longer than this for Redis before it is let through. */
  timeoutMs?: number;
  /** Once per outage, when Redis first fails to answer: requests are let through until it is back. */
  onUnavailable?: (error: Error) => void;
}

export function createRedisRequestCounter(options: RedisRequestCounterOptions): RequestCounter {
  const client: RedisClient = redisClient(options.url);
  const timeoutMs = options.timeoutMs ?? 250;
  let failing = false;
  // node-redis reconnects by itself; its errors arrive here too, and are what `failing` reports.
  client.on('error', () => {});
  const connecting = client.connect().catch(() => {});

  async function run(script: string, key: string, args: string[]): Promise<WindowCount | null> {
    // Known down: answer at once. Otherwise the first request waits (briefly) for a connection still being made.
    if (!client.isReady && failing) return null;
    try {
      if (!client.isReady) await within(connecting, timeoutMs);
      const reply = (await within(
        client.eval(script, { keys: [`${options.prefix}ratelimit:${key}`], arguments: args }),
        timeoutMs,
      )) as [number, number];
      failing = false;
      return { count: Number(reply[0]), resetInMs: Math.max(0, Number(reply[1])) };
    } catch (error) {
      if (!failing) options.onUnavailable?.(error instanceof Error ? error : new Error(String(error)));
      failing = true;
      return null;
    }
  }

  return {
    hit: (key, windowMs) => run(HIT, key, [String(windowMs)]),
    peek: (key) => run(PEEK, key, []),
    close: async () => {
      await connecting;
      if (client.isOpen) await client.quit().catch(() => client.destroy());
    },
  };
}
