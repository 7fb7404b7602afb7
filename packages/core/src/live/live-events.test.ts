import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineFixture, testDrivers, type EngineFixture, type TestDatabase } from '../testing/index';
import type { SequencedEvent } from '../engine/types';
import { createRedisLiveEvents } from './redis-live-events';
import type { LiveEvents } from './live-events';

/**
 * Two engines on one database stand for two instances: one runs a turn, the other follows, stops or clears
 * it. With Redis (the shared one, under a prefix of this run's own) and without it, and with Redis
 * unreachable, the guarantees are the same; only how fast they arrive differs.
 */

const redisUrl = process.env.TEST_REDIS_URL;
// In CI a missing Redis is a failure, not a skip.
if (!redisUrl && process.env.REQUIRE_E2E) throw new Error('TEST_REDIS_URL must be set when REQUIRE_E2E is');

let seq = 0;
const newUser = () => `live-${Date.now().toString(36)}-${seq++}`;
const REPLY = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
/** Slow enough that a reader elsewhere joins while the turn is still streaming. */
const SLOW = { text: REPLY, chunkSize: 3, delayMsBetweenChunks: 15 };

const textOf = (events: SequencedEvent[]) =>
  events
    .filter(({ event }) => event.type === 'token')
    .map(({ event }) => (event as { content: string }).content)
    .join('');

async function collect(iterable: AsyncIterable<SequencedEvent>): Promise<SequencedEvent[]> {
  const events: SequencedEvent[] = [];
  for await (const event of iterable) events.push(event);
  return events;
}

function expectStrictlyIncreasing(events: SequencedEvent[]): void {
  const seqs = events.map((e) => e.seq);
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
}

interface Instances {
  a: EngineFixture;
  b: EngineFixture;
  lives: LiveEvents[];
}

describe.each(testDrivers())('turns across instances on $name', (driver) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
  });
  afterAll(async () => {
    await database[Symbol.asyncDispose]();
  });

  async function instances(live: 'redis' | 'none' | 'unreachable', renewMs = 5_000): Promise<Instances & AsyncDisposable> {
    const prefix = `test-${randomUUID()}:`;
    const make = () =>
      live === 'redis'
        ? createRedisLiveEvents({ url: redisUrl!, prefix })
        : live === 'unreachable'
          ? createRedisLiveEvents({ url: 'redis://127.0.0.1:1', prefix })
          : undefined;
    const lives = [make(), make()].filter((l): l is LiveEvents => l !== undefined);
    // With Redis the database is not polled at all (a reader that did would be caught by the live checks).
    const timing = { renewMs, pollMs: live === 'redis' ? 10_000 : 50 };
    const a = await startEngineFixture(database, { live: lives[0], turnTiming: timing, instanceId: `a-${prefix}` });
    const b = await startEngineFixture(database, { live: lives[1], turnTiming: timing, instanceId: `b-${prefix}` });
    if (live === 'redis') await Promise.all(lives.map((l) => until(async () => (await l.status()) === 'up')));
    return {
      a,
      b,
      lives,
      [Symbol.asyncDispose]: async () => {
        await a[Symbol.asyncDispose]();
        await b[Symbol.asyncDispose]();
        await Promise.all(lives.map((l) => l.close()));
      },
    };
  }

  describe.skipIf(!redisUrl)('with Redis', () => {
    it('a reader on the other instance follows the turn live, with nothing missed or repeated, from any event id', async () => {
      await using both = await instances('redis');
      both.a.openai.setDefaultReply(SLOW);
      const user = newUser();
      const turn = await both.a.engine.startTurn(user, 'how do I open it?');
      let finishedAt = 0;
      void turn.done.then(() => (finishedAt = performance.now()));
      const elsewhere = await both.b.engine.resume(user, turn.id);
      let tokensWhileStreaming = 0;
      const whole: SequencedEvent[] = [];
      for await (const event of elsewhere.events()) {
        if (event.event.type === 'token' && finishedAt === 0) tokensWhileStreaming++;
        whole.push(event);
      }
      const done = whole.at(-1)!.event;
      expect(done).toMatchObject({ type: 'done', stopped: false, interrupted: false });
      const saved = (await both.b.engine.history(user)).messages.at(-1)!;
      expect(textOf(whole)).toBe(saved.content);
      expect(saved.content).toBe(REPLY);
      expectStrictlyIncreasing(whole);
      // Live: batch after batch arrived while the turn was still streaming on the other instance (the database
      // is read only at the start and after a quiet second, longer than this whole turn).
      expect(tokensWhileStreaming).toBeGreaterThanOrEqual(3);
      // And from the middle: exactly the rest.
      const middle = whole[Math.floor(whole.length / 2)]!;
      const rest = await collect((await both.b.engine.resume(user, turn.id)).events({ afterSeq: middle.seq }));
      expect(textOf(whole.filter((e) => e.seq <= middle.seq)) + textOf(rest)).toBe(REPLY);
    });

    it('a reader whose stream Redis lost mid-turn gets the rest from the database', async () => {
      await using both = await instances('redis');
      both.a.openai.setDefaultReply({ ...SLOW, delayMsBetweenChunks: 25 });
      const user = newUser();
      const turn = await both.a.engine.startTurn(user, 'and then?');
      const elsewhere = await both.b.engine.resume(user, turn.id);
      const redis = createClient({ url: redisUrl });
      await redis.connect();
      const events: SequencedEvent[] = [];
      let deleted = false;
      for await (const event of elsewhere.events()) {
        events.push(event);
        if (!deleted && events.length === 3) {
          deleted = true;
          // What a Redis restart does to a stream: gone, and the next entries start a new one.
          const keys = await redis.keys(`*turn:${turn.id}`);
          expect(keys).toHaveLength(1);
          await redis.del(keys);
        }
      }
      await redis.close();
      expect(deleted).toBe(true);
      expect(textOf(events)).toBe(REPLY);
      expectStrictlyIncreasing(events);
    });

    it('a stop asked on the other instance reaches the turn over pub/sub, long before any lease renewal', async () => {
      await using both = await instances('redis', 10_000);
      both.a.openai.setDefaultReply({ text: REPLY, chunkSize: 2, delayMsBetweenChunks: 40 });
      const user = newUser();
      const turn = await both.a.engine.startTurn(user, 'count slowly');
      const events: SequencedEvent[] = [];
      const reading = collect(turn.events()).then((all) => events.push(...all));
      await until(async () => (await both.a.engine.history(user)).messages.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const asked = performance.now();
      expect(await both.b.engine.stop(user)).toBe(true);
      const done = await turn.done;
      const tookMs = performance.now() - asked;
      await reading;
      expect(done.stopped).toBe(true);
      expect(tookMs).toBeLessThan(2_000);
      const saved = (await both.b.engine.history(user)).messages.at(-1)!;
      expect(saved).toMatchObject({ role: 'assistant', stopped: true });
      expect(saved.content).toBe(textOf(events));
      expect(saved.content.length).toBeLessThan(REPLY.length);
    });

    it('clear on the other instance stops the turn first, so no reply lands after it', async () => {
      await using both = await instances('redis', 10_000);
      both.a.openai.setDefaultReply({ text: REPLY, chunkSize: 2, delayMsBetweenChunks: 40 });
      const user = newUser();
      const turn = await both.a.engine.startTurn(user, 'long answer please');
      await new Promise((resolve) => setTimeout(resolve, 150));
      await both.b.engine.clear(user);
      expect((await turn.done).stopped).toBe(true);
      expect((await both.a.engine.history(user)).messages).toEqual([]);
    });
  });

  it('without Redis a stop on the other instance still arrives, through the database at the next renewal', async () => {
    await using both = await instances('none', 150);
    both.a.openai.setDefaultReply({ text: REPLY, chunkSize: 2, delayMsBetweenChunks: 40 });
    const user = newUser();
    const turn = await both.a.engine.startTurn(user, 'count slowly');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await both.b.engine.stop(user)).toBe(true);
    expect((await turn.done).stopped).toBe(true);
    const saved = (await both.a.engine.history(user)).messages.at(-1)!;
    expect(saved).toMatchObject({ role: 'assistant', stopped: true });
  });

  it('with Redis unreachable turns still run and are saved, and a reader elsewhere follows from the database', async () => {
    await using both = await instances('unreachable');
    expect(await both.lives[0]!.status()).toBe('down');
    both.a.openai.setDefaultReply(SLOW);
    const user = newUser();
    const turn = await both.a.engine.startTurn(user, 'still there?');
    const events = await collect((await both.b.engine.resume(user, turn.id)).events());
    expect(events.at(-1)!.event).toMatchObject({ type: 'done', stopped: false });
    expect(textOf(events)).toBe(REPLY);
    expectStrictlyIncreasing(events);
    expect((await both.a.engine.history(user)).messages.at(-1)!.content).toBe(REPLY);
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); ) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
