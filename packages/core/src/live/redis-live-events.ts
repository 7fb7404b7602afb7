import { randomUUID } from 'node:crypto';
import type { ControlMessage, LiveEvents, LiveStatus } from './live-events';
import { redisClient } from './redis-client';
import { encodeBatch, END_FIELDS } from './stream-entries';
import { StreamFollowers } from './stream-followers';
import { within } from './within';

export interface RedisLiveOptions {
  url: string;
  /** Namespaces keys and the control channel, so several deployments can share one Redis. */
  prefix?: string;
  /** Entries kept per turn (one per stored batch); a reader further behind catches up from the database. */
  maxLen?: number;
  /** A turn's stream outlives its last write by this much while it runs… */
  ttlSeconds?: number;
  /** …and this much once it has ended (a reader arriving later reads the database). */
  endedTtlSeconds?: number;
  /** Longest wait for any Redis reply a request waits on. */
  timeoutMs?: number;
  /** Connection trouble, once per outage per connection (the server logs it). */
  onError?: (error: Error, connection: string) => void;
}

const DEFAULTS = { prefix: 'fixthread:', maxLen: 1_000, ttlSeconds: 600, endedTtlSeconds: 120, timeoutMs: 500 };

/**
 * The live store for several instances, on node-redis: three connections, because a blocked XREAD and a
 * subscribed connection can each do nothing else. A batch published into an outage is dropped (the database
 * has it, and readers mend the gap from there); node-redis reconnects and resubscribes by itself, so
 * streaming resumes when Redis does, without a restart.
 */
export function createRedisLiveEvents(options: RedisLiveOptions): LiveEvents {
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  const { prefix } = settings;
  const command = redisClient(options.url);
  const blocking = command.duplicate();
  const subscriber = command.duplicate();
  const channel = `${prefix}control`;
  const streamKey = (turnId: string) => `${prefix}turn:${turnId}`;
  const handlers = new Set<(message: ControlMessage) => void>();

  for (const [name, client] of [['command', command], ['blocking', blocking], ['subscriber', subscriber]] as const) {
    let reported = false;
    client.on('error', (error: Error) => {
      if (reported) return;
      reported = true;
      options.onError?.(error, name);
    });
    client.on('ready', () => (reported = false));
  }
  // connect() retries until Redis first answers; from then on node-redis reconnects and resubscribes itself.
  command.connect().catch(() => {});
  blocking.connect().catch(() => {});
  subscriber
    .connect()
    .then(() =>
      subscriber.subscribe(channel, (raw) => {
        const message = parseControl(raw);
        if (message) for (const handler of handlers) handler(message);
      }),
    )
    .catch(() => {});
  const followers = new StreamFollowers({
    blocking,
    command,
    wakeKey: `${prefix}wake:${randomUUID()}`,
    timeoutMs: settings.timeoutMs,
  });
  const trim = { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: settings.maxLen } } as const;
  const ignore = () => {};

  return {
    kind: 'redis',

    publish(turnId, chunks) {
      if (chunks.length === 0 || !command.isReady) return;
      const key = streamKey(turnId);
      // Issued in the same tick, so node-redis pipelines them into one write.
      command.xAdd(key, '*', encodeBatch(chunks), trim).catch(ignore);
      command.expire(key, settings.ttlSeconds).catch(ignore);
    },

    end(turnId) {
      if (!command.isReady) return;
      const key = streamKey(turnId);
      command.xAdd(key, '*', END_FIELDS, trim).catch(ignore);
      command.expire(key, settings.endedTtlSeconds).catch(ignore);
    },

    follow: (turnId) => followers.follow(streamKey(turnId)),

    async broadcast(message) {
      if (!command.isReady) return;
      await within(command.publish(channel, JSON.stringify(message)), settings.timeoutMs).catch(ignore);
    },

    onControl(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },

    async status(): Promise<LiveStatus> {
      // All three: a stop needs the subscriber, and following a turn needs the blocking reader.
      if (!command.isReady || !subscriber.isReady || !blocking.isReady) return 'down';
      try {
        await within(command.ping(), settings.timeoutMs);
        return 'up';
      } catch {
        return 'down';
      }
    },

    async close() {
      handlers.clear();
      const closing = followers.close();
      for (const client of [blocking, subscriber, command]) {
        try {
          client.destroy();
        } catch {
          // Never connected: nothing to close.
        }
      }
      await closing;
    },
  };
}

function parseControl(raw: string): ControlMessage | undefined {
  try {
    const value = JSON.parse(raw) as Partial<ControlMessage>;
    if ((value.type === 'stop' || value.type === 'clear') && typeof value.userId === 'string') {
      const threadId = typeof value.threadId === 'string' ? value.threadId : undefined;
      return { type: value.type, userId: value.userId, threadId };
    }
  } catch {
    // Not ours: another publisher on the channel.
  }
  return undefined;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
