import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversations, toolCalls, userUsage } from '../db/schema';
import { ConflictError, QuotaExceeded, UpstreamUnavailable, ValidationError } from '../errors';
import { startFakeSearxng, startFakeTavily, type FakeReply } from '@fixthread/testing';
import { startEngineFixture, testDrivers, type TestDatabase } from '../testing/index';
import type { SequencedEvent, TurnEvent } from './types';

let seq = 0;
const newUser = () => `u${Date.now().toString(36)}${seq++}`;

async function collect(events: AsyncIterable<SequencedEvent>): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const { event } of events) out.push(event);
  return out;
}

describe.each(testDrivers())('chat engine on $name', (driver) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
  });
  afterAll(async () => {
    await database?.[Symbol.asyncDispose]();
  });

  const rowsOf = (userId: string) =>
    database.db.select().from(conversations).where(eq(conversations.userId, userId)).orderBy(conversations.id);
  const usageOf = async (userId: string) =>
    (await database.db.select().from(userUsage).where(eq(userUsage.userId, userId)))[0]?.totalTokens ?? 0;

  it('streams tokens and stores both messages with the provider-reported usage', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({
      text: 'Check the charging port for lint first.',
      chunkSize: 6,
      // Spaced out so tokens arrive as separate events (faster ones are stored, and sent, together).
      delayMsBetweenChunks: 30,
      usage: { prompt_tokens: 120, completion_tokens: 9 },
    });
    const turn = await fx.engine.startTurn(user, 'My phone will not charge');
    const events = await collect(turn.events());
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.length).toBeGreaterThan(3);
    expect(tokens.map((e) => e.content).join('')).toBe('Check the charging port for lint first.');
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', thread_id: `user-${user}`, usage: { total_tokens: 129, estimated: false }, stopped: false });
    const rows = await rowsOf(user);
    expect(rows.map((r) => [r.role, r.content, r.threadId])).toEqual([
      ['user', 'My phone will not charge', `user-${user}`],
      ['assistant', 'Check the charging port for lint first.', `user-${user}`],
    ]);
    expect(rows[1]).toMatchObject({ usageTokens: 129, usageEstimated: false, finishReason: 'stop' });
    expect(await usageOf(user)).toBe(129);
    const request = fx.openai.requests[0]!.body;
    expect(request.stream).toBe(true);
    expect(request.stream_options).toEqual({ include_usage: true });
  });

  it('sums usage across tool rounds, says it is searching before the first token, and gives the model the guide', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue(
      { toolCalls: [{ name: 'search_ifixit_guides', arguments: '{"query":"iPhone 12 screen"}' }], split: 'fragments', usage: { prompt_tokens: 200, completion_tokens: 15 } },
      { toolCalls: [{ name: 'get_ifixit_guide', arguments: '{"guideid":139184}' }], split: 'whole', finishReason: 'stop', usage: { prompt_tokens: 400, completion_tokens: 12 } },
      { text: 'Follow the iPhone 12 Screen Replacement guide.', usage: { prompt_tokens: 900, completion_tokens: 30 } },
    );
    const turn = await fx.engine.startTurn(user, 'How do I replace my iPhone 12 screen?');
    const events = await collect(turn.events());
    const firstToken = events.findIndex((e) => e.type === 'token');
    const statuses = events.filter((e) => e.type === 'status').map((e) => e.content);
    expect(statuses).toEqual(['🔍 Searching iFixit...', '📖 Reading the iFixit guide...']);
    expect(events.findIndex((e) => e.type === 'status')).toBeLessThan(firstToken);
    const done = events.at(-1);
    expect(done?.type === 'done' && done.usage).toEqual({ total_tokens: 200 + 15 + 400 + 12 + 900 + 30, estimated: false });
    expect(await usageOf(user)).toBe(1557);
    expect(done?.type === 'done' && done.sources.map((s) => s.title)).toContain('iPhone 12 Screen Replacement');

    const second = fx.openai.requests[1]!.body.messages;
    const toolResult = second.find((m) => m.role === 'tool');
    expect(JSON.stringify(toolResult)).toContain('iPhone 12 Screen Replacement');
    const third = fx.openai.requests[2]!.body.messages;
    expect(JSON.stringify(third.filter((m) => m.role === 'tool').at(-1))).toMatch(/Disconnect the battery|steps/);
    const searchRequest = fx.ifixit.requests.find((r) => r.path.includes('/search/'));
    expect(searchRequest?.query.filter).toBe('guide');
    expect(searchRequest?.headers['user-agent']).toBe('FixThread-test');

    const [assistant] = (await rowsOf(user)).filter((r) => r.role === 'assistant');
    const calls = await database.db.select().from(toolCalls).where(eq(toolCalls.messageId, assistant!.id));
    expect(calls.map((c) => [c.name, c.ok])).toEqual([
      ['search_ifixit_guides', true],
      ['get_ifixit_guide', true],
    ]);
    expect(calls[0]!.sources.some((s) => s.url.includes('139184'))).toBe(true);
    const history = await fx.engine.history(user);
    expect(history.messages[1]!.sources.map((s) => s.title)).toContain('iPhone 12 Screen Replacement');
  });

  it('counts with the tokenizer and marks the figure estimated when the provider reports no usage', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ text: 'Reseat the battery connector.', usage: 'none' });
    const turn = await fx.engine.startTurn(user, 'Laptop dead');
    const done = await turn.done;
    expect(done.usage.estimated).toBe(true);
    // System prompt alone is > 50 tokens; the figure must include prompt and completion.
    expect(done.usage.total_tokens).toBeGreaterThan(60);
    expect(await usageOf(user)).toBe(done.usage.total_tokens);
    const [, assistant] = await rowsOf(user);
    expect(assistant?.usageEstimated).toBe(true);
  });

  it('carries earlier turns as context, oldest first', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.setDefaultReply({ text: 'ok' });
    await fx.engine.send(user, 'turn one');
    await fx.engine.send(user, 'turn two');
    await fx.engine.send(user, 'turn three');
    const messages = fx.openai.requests[2]!.body.messages;
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ['system', expect.stringContaining('FixThread')],
      ['user', 'turn one'],
      ['assistant', 'ok'],
      ['user', 'turn two'],
      ['assistant', 'ok'],
      ['user', 'turn three'],
    ]);
  });

  it('bounds the prompt of a 10,000-message thread by the token budget', async () => {
    await using fx = await startEngineFixture(database, { maxContextTokens: 2000 });
    const user = newUser();
    await database.db.execute(sql`
      insert into conversations (user_id, thread_id, role, content, content_tokens)
      select ${user}, ${'user-' + user}, case when g % 2 = 0 then 'user' else 'assistant' end,
             'message number ' || g || ' about a broken hinge', 8
      from generate_series(1, 10000) g`);
    fx.openai.enqueue({ text: 'fine' });
    await fx.engine.send(user, 'newest question');
    const messages = fx.openai.requests[0]!.body.messages;
    expect(messages.length).toBeLessThan(400);
    expect(messages.at(-1)).toMatchObject({ role: 'user', content: 'newest question' });
    expect(messages[1]?.role).toBe('user');
    const promptChars = messages.reduce((n, m) => n + String(m.content).length, 0);
    expect(promptChars).toBeLessThan(2000 * 4);
    expect(JSON.stringify(messages)).toContain('message number 10000 ');
  });

  it('turns an LLM outage into UpstreamUnavailable, keeps the user message, stores no reply, and recovers', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ error: { status: 500, message: 'boom' } });
    const turn = await fx.engine.startTurn(user, 'first try');
    await expect(collect(turn.events())).rejects.toBeInstanceOf(UpstreamUnavailable);
    expect((await rowsOf(user)).map((r) => r.role)).toEqual(['user']);
    expect(await usageOf(user)).toBe(0);

    fx.openai.enqueue({ text: 'back again', usage: { prompt_tokens: 10, completion_tokens: 2 } });
    await expect(fx.engine.send(user, 'second try')).resolves.toMatchObject({ response: 'back again', thread_id: `user-${user}` });
    expect((await rowsOf(user)).map((r) => r.role)).toEqual(['user', 'user', 'assistant']);
  });

  it('the same message text sent twice on purpose gives two questions and two answers', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ error: { status: 503 } }, { text: 'first yes' }, { text: 'second yes' });
    await expect(fx.engine.send(user, 'yes')).rejects.toBeInstanceOf(UpstreamUnavailable);
    await fx.engine.send(user, 'yes');
    await fx.engine.send(user, 'yes');
    expect((await rowsOf(user)).map((r) => [r.role, r.content])).toEqual([
      ['user', 'yes'],
      ['user', 'yes'],
      ['assistant', 'first yes'],
      ['user', 'yes'],
      ['assistant', 'second yes'],
    ]);
  });

  it('treats a connection dropped mid-stream as an outage with no reply stored', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ dropAfterChunks: 3, text: 'this answer will be cut off somewhere in the middle', chunkSize: 5 });
    await expect(fx.engine.send(user, 'hello')).rejects.toBeInstanceOf(UpstreamUnavailable);
    expect((await rowsOf(user)).map((r) => r.role)).toEqual(['user']);
  });

  it('fails a stream that stalls between chunks after the idle timeout instead of holding the user forever', async () => {
    await using fx = await startEngineFixture(database, { llmTimeoutMs: 300 });
    const user = newUser();
    fx.openai.enqueue({ text: 'first words then silence for a long time', chunkSize: 6, delayMsBetweenChunks: 5000 });
    const started = Date.now();
    await expect(fx.engine.send(user, 'stall')).rejects.toBeInstanceOf(UpstreamUnavailable);
    expect(Date.now() - started).toBeLessThan(4000);
    fx.openai.enqueue({ text: 'next turn works' });
    await expect(fx.engine.send(user, 'again')).resolves.toMatchObject({ response: 'next turn works' });
  });

  it('does not save a stream that closed without a finish reason as a complete answer', async () => {
    const cutOff = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (content: string) =>
        `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
      res.end(chunk('First remove') + chunk(' the'));
    });
    await new Promise<void>((resolve) => cutOff.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = cutOff.address() as AddressInfo;
      await using fx = await startEngineFixture(database, { llmBaseURL: `http://127.0.0.1:${port}/v1` });
      const user = newUser();
      await expect(fx.engine.send(user, 'cut me off')).rejects.toBeInstanceOf(UpstreamUnavailable);
      expect((await rowsOf(user)).map((r) => r.role)).toEqual(['user']);
    } finally {
      cutOff.close();
    }
  });

  it('charges the rounds that completed before a later round failed (usage drift)', async () => {
    await using fx = await startEngineFixture(database, { tokenQuota: 1000 });
    const user = newUser();
    fx.openai.enqueue(
      { toolCalls: [{ name: 'search_ifixit_guides', arguments: '{"query":"x"}' }], usage: { prompt_tokens: 1500, completion_tokens: 20 } },
      { error: { status: 500 } },
    );
    await expect(fx.engine.send(user, 'expensive')).rejects.toBeInstanceOf(UpstreamUnavailable);
    expect(await usageOf(user)).toBe(1520);
    await expect(fx.engine.startTurn(user, 'over quota now')).rejects.toBeInstanceOf(QuotaExceeded);
  });

  it('the same client message id joins the turn instead of asking twice; with another message it is a conflict', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ hangMs: 300, then: { text: 'only once' } }, { text: 'should not be used' });
    const first = await fx.engine.startTurn(user, 'is it the fuse?', { clientMessageId: 'key-1' });
    const again = await fx.engine.startTurn(user, 'is it the fuse?', { clientMessageId: 'key-1' });
    expect(again.id).toBe(first.id);
    const replay = await collect(again.events());
    expect(replay.filter((e) => e.type === 'token').map((e) => e.content).join('')).toBe('only once');
    await expect(fx.engine.send(user, 'is it the fuse?', { clientMessageId: 'key-1' })).resolves.toMatchObject({
      response: 'only once',
      turn_id: first.id,
    });
    await expect(fx.engine.startTurn(user, 'something else', { clientMessageId: 'key-1' })).rejects.toBeInstanceOf(ConflictError);
    expect(fx.openai.requests).toHaveLength(1);
    expect((await rowsOf(user)).map((r) => r.role)).toEqual(['user', 'assistant']);
  });

  it('a key repeated after its turn spent the quota still gets that turn, while a new message gets 429', async () => {
    await using fx = await startEngineFixture(database, { tokenQuota: 50 });
    const user = newUser();
    fx.openai.enqueue({ text: 'expensive answer', usage: { prompt_tokens: 60, completion_tokens: 5 } });
    const first = await fx.engine.send(user, 'big question', { clientMessageId: 'quota-key' });
    await expect(fx.engine.send(user, 'big question', { clientMessageId: 'quota-key' })).resolves.toEqual(first);
    await expect(fx.engine.send(user, 'big question', { clientMessageId: 'another-key' })).rejects.toBeInstanceOf(QuotaExceeded);
    await expect(fx.engine.send(user, 'changed', { clientMessageId: 'quota-key' })).rejects.toBeInstanceOf(ConflictError);
    expect((await rowsOf(user)).map((r) => r.role)).toEqual(['user', 'assistant']);
  });

  it('stop() reaches a turn that is still queued, and clear() leaves nothing behind it', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.setDefaultReply({ text: 'slow answer that takes a while to stream', chunkSize: 4, delayMsBetweenChunks: 30 });
    const running = fx.engine.startTurn(user, 'first');
    const queued = fx.engine.startTurn(user, 'second');
    expect(await fx.engine.stop(user)).toBe(true);
    expect((await (await running).done).stopped).toBe(true);
    expect((await (await queued).done).stopped).toBe(true);
    const third = fx.engine.startTurn(user, 'third');
    await fx.engine.clear(user);
    await (await third).done;
    expect(await rowsOf(user)).toEqual([]);
  });

  it('leaves an answer stopped before its first token out of the next prompt', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ hangMs: 2000, then: { text: 'never seen' } }, { text: 'second answer' });
    const turn = await fx.engine.startTurn(user, 'first question');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fx.engine.stop(user);
    await turn.done;
    await fx.engine.send(user, 'second question');
    const prompt = fx.openai.requests.at(-1)!.body.messages;
    expect(prompt.map((m) => m.role)).toEqual(['system', 'user', 'user']);
  });

  it('finishes and saves the reply when the reader walks away mid-stream', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    const text = 'Remove the back cover, disconnect the battery, then unscrew the logic board.';
    fx.openai.enqueue({ text, chunkSize: 4, delayMsBetweenChunks: 15, usage: { prompt_tokens: 50, completion_tokens: 20 } });
    const turn = await fx.engine.startTurn(user, 'teardown?');
    let seen = 0;
    for await (const { event } of turn.events()) {
      if (event.type === 'token' && ++seen === 2) break;
    }
    const rowsRightAway = await rowsOf(user);
    expect(rowsRightAway.map((r) => r.role)).toEqual(['user']);
    await turn.done;
    const rows = await rowsOf(user);
    expect(rows[1]).toMatchObject({ role: 'assistant', content: text });
    expect(await usageOf(user)).toBe(70);
    // A reader that comes back replays the whole turn.
    const replay = await collect(turn.events());
    expect(replay.filter((e) => e.type === 'token').map((e) => e.content).join('')).toBe(text);
  });

  it('stop() aborts the request and saves the partial answer marked as stopped', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ text: 'one two three four five six seven eight nine ten eleven twelve', chunkSize: 4, delayMsBetweenChunks: 40 });
    const turn = await fx.engine.startTurn(user, 'count');
    let partial = '';
    for await (const { event } of turn.events()) {
      if (event.type !== 'token') continue;
      partial += event.content;
      if (partial.length >= 8) break;
    }
    expect(await fx.engine.stop(user)).toBe(true);
    const done = await turn.done;
    expect(done.stopped).toBe(true);
    const [, assistant] = await rowsOf(user);
    expect(assistant?.finishReason).toBe('stopped');
    expect(assistant?.content.startsWith(partial)).toBe(true);
    expect(assistant?.content.length).toBeLessThan(60);
    expect(await usageOf(user)).toBe(done.usage.total_tokens);
    expect(await fx.engine.stop(user)).toBe(false);
    expect((await fx.engine.history(user)).messages[1]?.stopped).toBe(true);
  });

  it('hands a failing tool back to the model as a failed result, and the model still answers', async () => {
    await using fx = await startEngineFixture(database);
    fx.ifixit.configure({ failWith500: true });
    const user = newUser();
    fx.openai.enqueue(
      { toolCalls: [{ name: 'search_ifixit_guides', arguments: '{"query":"ps5 hdmi"}' }] },
      { text: 'iFixit is unreachable, but here is what I know.' },
    );
    const { response } = await fx.engine.send(user, 'PS5 no signal');
    expect(response).toContain('what I know');
    const toolMessage = fx.openai.requests[1]!.body.messages.find((m) => m.role === 'tool');
    expect(String(toolMessage?.content)).toMatch(/failed/);
    const calls = await database.db.select().from(toolCalls).where(eq(toolCalls.userId, user));
    expect(calls.map((c) => c.ok)).toEqual([false]);
  });

  it('cannot be hung by a tool: a slow tool times out into a failed result', async () => {
    await using fx = await startEngineFixture(database, { tools: { timeoutMs: 200 } });
    fx.ifixit.configure({ hangMs: 5000 });
    const user = newUser();
    fx.openai.enqueue({ toolCalls: [{ name: 'search_ifixit_guides', arguments: '{"query":"joycon drift"}' }] }, { text: 'answer' });
    const started = Date.now();
    await fx.engine.send(user, 'drift');
    expect(Date.now() - started).toBeLessThan(4000);
    const toolMessage = fx.openai.requests[1]!.body.messages.find((m) => m.role === 'tool');
    expect(String(toolMessage?.content)).toMatch(/timed out/);
  });

  it('refuses a search query of only dots, which would walk up the iFixit API path', async () => {
    await using fx = await startEngineFixture(database);
    fx.openai.enqueue({ toolCalls: [{ name: 'search_ifixit_guides', arguments: '{"query":".."}' }] }, { text: 'ok' });
    await fx.engine.send(newUser(), 'dots');
    expect(fx.ifixit.requests).toHaveLength(0);
    const toolMessage = fx.openai.requests[1]!.body.messages.find((m) => m.role === 'tool');
    expect(String(toolMessage?.content)).toMatch(/failed/);
  });

  it('caps tool rounds and then asks for an answer without tools', async () => {
    await using fx = await startEngineFixture(database, { tools: { maxRounds: 2 } });
    const user = newUser();
    const call: FakeReply = { toolCalls: [{ name: 'search_ifixit_guides', arguments: '{"query":"x"}' }] };
    fx.openai.enqueue(call, call, { text: 'done looking' });
    const { response } = await fx.engine.send(user, 'loop please');
    expect(response).toBe('done looking');
    expect(fx.openai.requests).toHaveLength(3);
    expect(fx.openai.requests[2]!.body.tools).toBeUndefined();
  });

  it('falls back to suggest when search answers 404, and backs off on 429', async () => {
    await using fx = await startEngineFixture(database);
    fx.ifixit.configure({ searchReturns404: true, rateLimitFirst: 1 });
    const user = newUser();
    fx.openai.enqueue({ toolCalls: [{ name: 'search_ifixit_guides', arguments: '{"query":"iPhone 12 battery"}' }] }, { text: 'ok' });
    await fx.engine.send(user, 'battery');
    const paths = fx.ifixit.requests.map((r) => r.path);
    expect(paths.filter((p) => p.includes('/search/')).length).toBeGreaterThanOrEqual(2);
    expect(paths.some((p) => p.includes('/suggest/'))).toBe(true);
    const toolMessage = fx.openai.requests[1]!.body.messages.find((m) => m.role === 'tool');
    expect(String(toolMessage?.content)).toContain('iPhone 12 Battery');
  });

  it('offers web search only when a provider is configured', async () => {
    await using withoutSearch = await startEngineFixture(database);
    withoutSearch.openai.enqueue({ text: 'x' });
    await withoutSearch.engine.send(newUser(), 'hi');
    const offered = (withoutSearch.openai.requests[0]!.body.tools as { function: { name: string } }[]).map((t) => t.function.name);
    expect(offered).toEqual(['search_ifixit_guides', 'get_ifixit_guide']);
  });

  it('searches the web through SearXNG with its own status, and credits the pages', async () => {
    await using searxng = await startFakeSearxng();
    await using fx = await startEngineFixture(database, { tools: { webSearch: { provider: 'searxng', url: searxng.url } } });
    fx.openai.enqueue({ toolCalls: [{ name: 'web_search', arguments: '{"query":"dishwasher E24 error"}' }] }, { text: 'Drain pump.' });
    const turn = await fx.engine.startTurn(newUser(), 'E24 on my dishwasher');
    const events = await collect(turn.events());
    expect(events.filter((e) => e.type === 'status').map((e) => e.content)).toEqual(['🌐 Searching the web...']);
    expect(searxng.requests[0]?.query).toMatchObject({ q: 'dishwasher E24 error', format: 'json' });
    const done = events.at(-1);
    expect(done?.type === 'done' && done.sources.length).toBeGreaterThan(0);
    expect(done?.type === 'done' && done.sources.every((s) => s.kind === 'web')).toBe(true);
  });

  it('searches the web through Tavily when it is the configured provider', async () => {
    await using tavily = await startFakeTavily({ apiKey: 'tvly-test' });
    await using fx = await startEngineFixture(database, {
      tools: { webSearch: { provider: 'tavily', apiKey: 'tvly-test', url: tavily.url } },
    });
    fx.openai.enqueue({ toolCalls: [{ name: 'web_search', arguments: '{"query":"kettle limescale"}' }] }, { text: 'Use citric acid.' });
    await fx.engine.send(newUser(), 'kettle');
    expect(tavily.requests).toHaveLength(1);
    const toolMessage = fx.openai.requests[1]!.body.messages.find((m) => m.role === 'tool');
    expect(String(toolMessage?.content)).toContain('"url"');
    expect(String(toolMessage?.content)).not.toMatch(/failed/);
  });

  it('answers offline, word by word, persisted and charged nothing, when no model is configured', async () => {
    await using fx = await startEngineFixture(database, { offline: true, offlineTokenDelayMs: 5 });
    const user = newUser();
    const turn = await fx.engine.startTurn(user, 'hello?');
    const events = await collect(turn.events());
    const text = events.filter((e) => e.type === 'token').map((e) => e.content).join('');
    expect(events.filter((e) => e.type === 'token').length).toBeGreaterThan(20);
    expect(text).toContain('OPENAI_API_KEY');
    const [, assistant] = await rowsOf(user);
    expect(assistant?.content).toBe(text);
    expect([assistant?.usageTokens, assistant?.usageEstimated]).toEqual([0, false]);
    expect(events.at(-1)).toMatchObject({ type: 'done', usage: { total_tokens: 0, estimated: false } });
    expect(await usageOf(user)).toBe(0);
    expect(fx.openai.requests).toHaveLength(0);
  });

  it.each([
    ['empty', ''],
    ['whitespace only', ' \n\t '],
    ['NUL', 'a\u0000b'],
    ['lone surrogate', 'broken \ud800 text'],
    ['too long', 'x'.repeat(8001)],
  ])('rejects a %s message before storing anything', async (_label, message) => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    await expect(fx.engine.startTurn(user, message)).rejects.toBeInstanceOf(ValidationError);
    expect(await rowsOf(user)).toEqual([]);
    expect(fx.openai.requests).toHaveLength(0);
  });

  it('refuses a turn once the quota is spent, storing nothing', async () => {
    await using fx = await startEngineFixture(database, { tokenQuota: 100 });
    const user = newUser();
    fx.openai.enqueue({ text: 'pricey', usage: { prompt_tokens: 90, completion_tokens: 20 } });
    await fx.engine.send(user, 'first');
    await expect(fx.engine.startTurn(user, 'second')).rejects.toBeInstanceOf(QuotaExceeded);
    expect((await rowsOf(user)).map((r) => r.content)).toEqual(['first', 'pricey']);
  });

  it('runs a user\'s turns one after another, so the second sees the first reply', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ text: 'reply A', delayMsBetweenChunks: 20 }, { text: 'reply B' });
    const [a, b] = await Promise.all([fx.engine.send(user, 'question A'), fx.engine.send(user, 'question B')]);
    expect([a.response, b.response]).toEqual(['reply A', 'reply B']);
    const second = fx.openai.requests[1]!.body.messages.map((m) => m.content);
    expect(second.slice(1)).toEqual(['question A', 'reply A', 'question B']);
  });

  it('clears the thread but keeps the spend', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ text: 'hi', usage: { prompt_tokens: 5, completion_tokens: 1 } });
    await fx.engine.send(user, 'hello');
    await expect(fx.engine.clear(user)).resolves.toEqual({ success: true, message: 'Chat history cleared successfully', thread_id: `user-${user}` });
    expect(await rowsOf(user)).toEqual([]);
    expect(await fx.engine.stats(user)).toMatchObject({ total_messages: 0, total_tokens: 6, session_start: null, last_activity: null });
  });

  it('validates the history limit', async () => {
    await using fx = await startEngineFixture(database);
    for (const limit of [0, 201, 1.5, Number.NaN]) {
      await expect(fx.engine.history('x', { limit })).rejects.toBeInstanceOf(ValidationError);
    }
  });
});
