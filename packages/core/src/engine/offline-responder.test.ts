import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversations, toolCalls, usageLedger, userUsage } from '../db/schema';
import { startEngineFixture, testDrivers, type EngineFixture, type TestDatabase } from '../testing/index';
import type { DoneEvent, SequencedEvent, TurnEvent } from './types';

let seq = 0;
const newUser = () => `offline${Date.now().toString(36)}${seq++}`;

async function collect(events: AsyncIterable<SequencedEvent>): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const { event } of events) out.push(event);
  return out;
}

const textOf = (events: TurnEvent[]) =>
  events
    .filter((e) => e.type === 'token')
    .map((e) => e.content)
    .join('');
const statusesOf = (events: TurnEvent[]) => events.filter((e) => e.type === 'status').map((e) => e.content);
const doneOf = (events: TurnEvent[]) => events.at(-1) as DoneEvent;

const SCREEN_GUIDE_URL = 'https://www.ifixit.com/Guide/iPhone+12+Screen+Replacement/139184';

/** A stand-in for iFixit that answers every request with one status, as a proxy in front of it might. */
async function startStatusServer(status: number): Promise<{ apiUrl: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: true, message: 'Service Unavailable' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/2.0`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.each(testDrivers())('offline responder on $name', (driver) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
  });
  afterAll(async () => {
    await database?.[Symbol.asyncDispose]();
  });

  const ledgerOf = (userId: string) => database.db.select().from(usageLedger).where(eq(usageLedger.userId, userId));
  const userUsageOf = async (userId: string) =>
    (await database.db.select().from(userUsage).where(eq(userUsage.userId, userId)))[0]?.totalTokens ?? 0;
  const replyOf = async (userId: string) =>
    (await database.db.select().from(conversations).where(eq(conversations.userId, userId)).orderBy(conversations.id)).find(
      (row) => row.role === 'assistant',
    );

  async function expectNothingCharged(fx: EngineFixture, userId: string, done: DoneEvent): Promise<void> {
    expect(done.usage).toEqual({ total_tokens: 0, estimated: false });
    expect(await userUsageOf(userId)).toBe(0);
    expect((await ledgerOf(userId)).reduce((sum, row) => sum + row.totalTokens, 0)).toBe(0);
    expect((await ledgerOf(userId)).some((row) => row.estimated)).toBe(false);
    const stats = await fx.engine.stats(userId);
    expect([stats.total_tokens, stats.estimated_tokens]).toEqual([0, 0]);
    const reply = await replyOf(userId);
    expect([reply?.usageTokens, reply?.usageEstimated]).toEqual([0, false]);
    expect(fx.openai.requests).toHaveLength(0);
  }

  it('answers with the best iFixit guides, their facts and the first steps, as source cards, charging nothing', async () => {
    await using fx = await startEngineFixture(database, { offline: true });
    const user = newUser();
    const turn = await fx.engine.startTurn(user, 'My iPhone 12 screen is cracked, how do I fix it?');
    const events = await collect(turn.events());
    const text = textOf(events);

    expect(statusesOf(events)).toEqual(['🔍 Searching iFixit...', '📖 Reading the iFixit guide...']);
    const firstToken = events.findIndex((e) => e.type === 'token');
    expect(events.findIndex((e) => e.type === 'status')).toBeLessThan(firstToken);
    expect(events.findLastIndex((e) => e.type === 'status')).toBeLessThan(firstToken);

    // The search went out as the device and problem, without the filler.
    const searches = fx.ifixit.requests.filter((r) => r.path.includes('/search/'));
    expect(searches.map((r) => decodeURIComponent(r.path.split('/').at(-1)!))).toEqual(['iPhone 12 screen cracked']);
    expect(fx.ifixit.requests.some((r) => r.path.endsWith('/guides/139184'))).toBe(true);

    expect(text).toContain(`[iPhone 12 Screen Replacement](${SCREEN_GUIDE_URL})`);
    expect(text).toContain('iPhone 12 (Screen) · Difficulty: Moderate · Time: 1 - 2 hours');
    expect(text).toContain('[iPhone 12 Battery Replacement](https://www.ifixit.com/Guide/iPhone+12+Battery+Replacement/137902)');
    expect(text).toContain('Tools: P2 Pentalobe Screwdriver iPhone, iOpener, Suction Handle');
    for (const step of ['1. **Power off your iPhone**', '2. **Remove the pentalobe screws**', '3. **Heat the lower edge**']) {
      expect(text).toContain(step);
    }
    expect(text).toContain('Hold the side button and either volume button');
    expect(text).not.toContain('Disconnect the battery'); // step 5: only the first three are shown
    expect(text).toContain('The guide has 6 steps in all');
    expect(text).toContain('no language model is configured');
    expect(text).toContain('`OPENAI_API_KEY`');
    expect(text).toContain('`OPENAI_BASE_URL`');

    const done = doneOf(events);
    expect(done.stopped).toBe(false);
    expect(done.sources).toEqual([
      {
        kind: 'ifixit',
        title: 'iPhone 12 Screen Replacement',
        url: SCREEN_GUIDE_URL,
        device: 'iPhone 12',
        subject: 'Screen',
        difficulty: 'Moderate',
        time_required: '1 - 2 hours',
      },
      expect.objectContaining({ title: 'iPhone 12 Battery Replacement', device: 'iPhone 12', subject: 'Battery', difficulty: 'Moderate' }),
    ]);
    await expectNothingCharged(fx, user, done);

    // Stored like a model turn's lookups, so the history shows the same cards after a reload.
    const reply = await replyOf(user);
    expect(reply?.content).toBe(text);
    const calls = await database.db.select().from(toolCalls).where(eq(toolCalls.messageId, reply!.id));
    expect(calls.map((c) => [c.name, c.ok, c.arguments])).toEqual([
      ['search_ifixit_guides', true, { query: 'iPhone 12 screen cracked' }],
      ['get_ifixit_guide', true, { guideid: 139184 }],
    ]);
    const history = await fx.engine.history(user);
    expect(history.messages[1]!.sources).toEqual(done.sources);
  });

  it('tries a shorter query once when the first finds nothing', async () => {
    await using fx = await startEngineFixture(database, { offline: true });
    const user = newUser();
    const events = await collect((await fx.engine.startTurn(user, 'My PS5 shows no signal on the TV after I moved it')).events());
    const searches = fx.ifixit.requests.filter((r) => r.path.includes('/search/'));
    expect(searches.map((r) => decodeURIComponent(r.path.split('/').at(-1)!))).toEqual(['PS5 shows signal TV moved', 'PS5 shows signal']);
    expect(statusesOf(events)).toEqual(['🔍 Searching iFixit...', '🔍 Searching iFixit...', '📖 Reading the iFixit guide...']);
    expect(textOf(events)).toContain('[PlayStation 5 HDMI Port Replacement](');
    expect(textOf(events)).toContain('Difficulty: Very difficult');
    expect(doneOf(events).sources.map((s) => s.title)).toEqual(['PlayStation 5 HDMI Port Replacement']);
    await expectNothingCharged(fx, user, doneOf(events));
  });

  it('says so, and how to search better, when no guide matches', async () => {
    await using fx = await startEngineFixture(database, { offline: true });
    const user = newUser();
    const events = await collect((await fx.engine.startTurn(user, 'My sourdough starter smells of nail varnish')).events());
    expect(fx.ifixit.requests.filter((r) => r.path.includes('/search/'))).toHaveLength(2);
    expect(textOf(events)).toContain('I couldn’t find an iFixit guide for **sourdough starter smells nail varnish**');
    expect(doneOf(events).sources).toEqual([]);
    await expectNothingCharged(fx, user, doneOf(events));
  });

  it('greets and explains offline mode without searching when the message names nothing', async () => {
    await using fx = await startEngineFixture(database, { offline: true });
    const user = newUser();
    const events = await collect((await fx.engine.startTurn(user, 'Hi there, can you help me?')).events());
    expect(fx.ifixit.requests).toHaveLength(0);
    expect(statusesOf(events)).toEqual([]);
    expect(textOf(events)).toContain('running without a language model');
    expect(textOf(events)).toContain('Tell me the device and what’s wrong');
    expect(doneOf(events).sources).toEqual([]);
    await expectNothingCharged(fx, user, doneOf(events));
  });

  describe.each([
    ['answers 503', 'status-503'],
    ['answers 500', 'fail-500'],
    ['is not listening', 'closed'],
    ['does not answer in time', 'hang'],
  ] as const)('when iFixit %s', (_label, failure) => {
    it('says plainly that neither a model nor iFixit could be reached, and how to connect a model, charging nothing', async () => {
      const unavailable = failure === 'status-503' ? await startStatusServer(503) : undefined;
      await using fx = await startEngineFixture(database, {
        offline: true,
        tools: { timeoutMs: 300, ...(unavailable ? { ifixitApiUrl: unavailable.apiUrl } : {}) },
      });
      try {
        if (failure === 'fail-500') fx.ifixit.configure({ failWith500: true });
        if (failure === 'hang') fx.ifixit.configure({ hangMs: 5_000 });
        if (failure === 'closed') await fx.ifixit.close();
        const user = newUser();
        const events = await collect((await fx.engine.startTurn(user, 'My iPhone 12 battery drains overnight')).events());
        const text = textOf(events);
        expect(statusesOf(events)).toEqual(['🔍 Searching iFixit...']);
        expect(text).toContain('no language model is configured, and iFixit');
        expect(text).toContain('could not be reached');
        expect(text).toContain('`OPENAI_API_KEY`');
        expect(doneOf(events).sources).toEqual([]);
        await expectNothingCharged(fx, user, doneOf(events));
        const reply = await replyOf(user);
        const calls = await database.db.select().from(toolCalls).where(eq(toolCalls.messageId, reply!.id));
        expect(calls.map((c) => [c.name, c.ok])).toEqual([['search_ifixit_guides', false]]);
      } finally {
        await unavailable?.close();
      }
    });
  });

  it('stopped mid-answer, saves what streamed with its guide cards, still charging nothing', async () => {
    await using fx = await startEngineFixture(database, { offline: true, offlineTokenDelayMs: 15 });
    const user = newUser();
    const turn = await fx.engine.startTurn(user, 'How do I replace the battery in my MacBook Air M1?');
    const events: TurnEvent[] = [];
    for await (const { event } of turn.events()) {
      events.push(event);
      if (event.type === 'token' && textOf(events).length > 40) turn.stop();
    }
    const done = doneOf(events);
    expect(done.stopped).toBe(true);
    const reply = await replyOf(user);
    expect(reply?.finishReason).toBe('stopped');
    expect(reply?.content).toBe(textOf(events));
    expect(reply?.content).not.toContain('OPENAI_API_KEY'); // the closing note never streamed
    expect(done.sources.map((s) => s.title)).toContain('MacBook Air 13" Late 2020 Battery Replacement');
    expect((await fx.engine.history(user)).messages[1]!.sources).toEqual(done.sources);
    await expectNothingCharged(fx, user, done);
  });

  it('settles the turn at 0 tokens before it streams, so a crash mid-answer is not charged an estimate', async () => {
    await using fx = await startEngineFixture(database, { offline: true, offlineTokenDelayMs: 15 });
    const user = newUser();
    const turn = await fx.engine.startTurn(user, 'Joy-Con drift on my Nintendo Switch');
    for await (const { event } of turn.events()) {
      if (event.type !== 'token') continue;
      // What recovery finds for this turn, should its process die now: round 0 charged, nothing left to estimate.
      expect((await ledgerOf(user)).map((row) => [row.turnId, row.round, row.totalTokens, row.estimated])).toEqual([
        [turn.id, 0, 0, false],
      ]);
      turn.stop();
    }
    expect(await userUsageOf(user)).toBe(0);
  });
});
