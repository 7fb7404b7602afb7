import { and, asc, eq, sql } from 'drizzle-orm';
import { conversations, threads, usageLedger, userUsage } from '@fixthread/core/schema';
import { testDrivers } from '@fixthread/core/testing';
import { parseSseEvents } from '@fixthread/testing';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, type ErrorResponseBody, type StreamEvent } from './support/http';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { connect } from './support/trpc';
import type { FixThreadClient } from '../src/client';

interface ThreadSummary {
  id: string;
  title: string | null;
  is_default: boolean;
  message_count: number;
}
interface HistoryBody {
  thread_id: string;
  messages: { id: number; role: string; content: string }[];
  has_more: boolean;
  next_before: number | null;
}
interface SearchBody {
  results: { thread_id: string; message_id: number; role: string; snippet: { text: string; match: boolean }[] }[];
}

const enc = encodeURIComponent;
const tokensOf = (events: StreamEvent[]) => events.map((e) => (e.type === 'token' ? e.content : '')).join('');

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A POST answered with SSE (stream, regenerate, edit); a JSON error body when it is not a stream. */
async function ssePost(url: string, token: string, json: unknown): Promise<{ status: number; events: StreamEvent[]; error?: ErrorResponseBody }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
    return { status: response.status, events: [], error: (await response.json()) as ErrorResponseBody };
  }
  const events: StreamEvent[] = [];
  if (response.body) for await (const sse of parseSseEvents(response.body)) events.push(JSON.parse(sse.data) as StreamEvent);
  return { status: response.status, events };
}

/** Runs a tRPC subscription to its end: its data, or the error code it failed with. */
function subscribe(start: (handlers: { onData: (d: unknown) => void; onError: (e: unknown) => void; onComplete: () => void }) => { unsubscribe(): void }) {
  return new Promise<{ data: unknown[]; code?: string }>((resolve) => {
    const data: unknown[] = [];
    const sub = start({
      onData: (d) => data.push(d),
      onError: (e) => {
        sub.unsubscribe();
        resolve({ data, code: e instanceof TRPCClientError ? (e.data as { code?: string } | undefined)?.code : String(e) });
      },
      onComplete: () => resolve({ data }),
    });
  });
}

async function trpcCode(call: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : String(error);
  }
}

function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

describe.each(testDrivers())('conversations API on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver);
  });
  afterAll(() => h.close());

  const db = () => h.database.db;
  const snapshot = async (userId: string) => ({
    conversations: await db().select().from(conversations).where(eq(conversations.userId, userId)).orderBy(asc(conversations.id)),
    threads: await db().select().from(threads).where(eq(threads.userId, userId)).orderBy(asc(threads.id)),
  });
  const createThread = async (token: string, title?: string) => {
    const res = await request<ThreadSummary>(`${h.url}/chat/threads`, { token, json: title === undefined ? {} : { title } });
    expect(res.status).toBe(201);
    return res.body;
  };
  const send = async (token: string, message: string, threadId?: string) => {
    const res = await request<{ response: string; thread_id: string }>(`${h.url}/chat`, { token, json: { message, thread_id: threadId } });
    expect(res.status).toBe(200);
    return res.body;
  };
  const historyOf = async (token: string, threadId?: string) => {
    const q = threadId === undefined ? '' : `&thread_id=${enc(threadId)}`;
    const res = await request<HistoryBody>(`${h.url}/chat/history?limit=200${q}`, { token });
    expect(res.status).toBe(200);
    return res.body.messages.map((m) => [m.role, m.content]);
  };
  /** Seeds `count` alternating messages straight into the table, oldest first; returns their ids. */
  const seed = async (userId: string, threadId: string, count: number, text = (i: number) => `seeded message ${i}`) => {
    const ids: number[] = [];
    for (let start = 0; start < count; start += 500) {
      const values = Array.from({ length: Math.min(500, count - start) }, (_, k) => ({
        userId,
        threadId,
        role: (start + k) % 2 === 0 ? ('user' as const) : ('assistant' as const),
        content: text(start + k),
      }));
      const rows = await db().insert(conversations).values(values).returning({ id: conversations.id });
      ids.push(...rows.map((r) => r.id));
    }
    return ids;
  };

  it('another user can never reach a thread through any REST endpoint or tRPC procedure, and nothing of the owner changes', async () => {
    const alice = await h.token('own-alice');
    const bob = await h.token('own-bob');
    await send(alice, 'Alice default question about her quokkaphone');
    const thread = await createThread(alice, 'Alice private');
    await send(alice, 'Second quokkaphone question in the thread', thread.id);
    await send(bob, 'Bob has his own thread too');
    const before = await snapshot('own-alice');
    expect(before.conversations).toHaveLength(4);
    expect(before.threads.map((t) => t.id).sort()).toEqual(['user-own-alice', thread.id].sort());
    const modelCalls = h.openai.requests.length;

    for (const target of [thread.id, 'user-own-alice', 'user-own-alice/does-not-exist']) {
      const e = enc(target);
      const plain: [string, string, unknown?][] = [
        ['GET', `/chat/history?thread_id=${e}`],
        ['POST', '/chat', { message: 'hijack', thread_id: target }],
        ['PATCH', `/chat/threads/${e}`, { title: 'pwned' }],
        ['DELETE', `/chat/threads/${e}`],
        ['DELETE', `/chat/history?thread_id=${e}`],
        ['GET', `/chat/sessions?thread_id=${e}`],
        ['POST', '/chat/stop', { thread_id: target }],
        ['GET', `/chat/export?thread_id=${e}&format=markdown`],
        ['GET', `/chat/export?thread_id=${e}&format=json`],
        ['GET', `/chat/export?thread_id=${e}&format=ndjson`],
      ];
      for (const [method, path, json] of plain) {
        const res = await request<ErrorResponseBody>(`${h.url}${path}`, { method, token: bob, json });
        expect({ method, path, status: res.status, code: res.body?.error?.code }).toEqual({ method, path, status: 404, code: 'NOT_FOUND' });
      }
      for (const [path, json] of [
        ['/chat/stream', { message: 'hijack', thread_id: target }],
        ['/chat/regenerate', { thread_id: target }],
        ['/chat/edit', { message: 'hijack', thread_id: target }],
      ] as const) {
        const res = await ssePost(`${h.url}${path}`, bob, json);
        expect({ path, status: res.status, code: res.error?.error.code }).toEqual({ path, status: 404, code: 'NOT_FOUND' });
      }
    }

    // Lists and searches simply do not show Alice's data.
    const list = await request<{ threads: ThreadSummary[] }>(`${h.url}/chat/threads?limit=100`, { token: bob });
    expect(list.status).toBe(200);
    expect(list.body.threads?.map((t) => t.id)).toEqual(['user-own-bob']);
    const search = await request<SearchBody>(`${h.url}/chat/search?q=quokkaphone`, { token: bob });
    expect(search.status).toBe(200);
    expect(search.body.results).toEqual([]);
    const all = await fetch(`${h.url}/chat/export?format=ndjson`, { headers: { authorization: `Bearer ${bob}` } });
    expect(all.status).toBe(200);
    const exported = await all.text();
    expect(exported).toContain('Bob has his own thread too');
    expect(exported).not.toContain('own-alice');
    expect(exported).not.toContain('quokkaphone');

    const client: FixThreadClient = connect(h.url, bob);
    try {
      for (const threadId of [thread.id, 'user-own-alice']) {
        const calls: [string, () => Promise<unknown>][] = [
          ['threads.rename', () => client.trpc.threads.rename.mutate({ threadId, title: 'pwned' })],
          ['threads.delete', () => client.trpc.threads.delete.mutate({ threadId })],
          ['chat.send', () => client.trpc.chat.send.mutate({ message: 'hijack', threadId })],
          ['chat.history', () => client.trpc.chat.history.query({ threadId })],
          ['chat.clear', () => client.trpc.chat.clear.mutate({ threadId })],
          ['chat.sessions', () => client.trpc.chat.sessions.query({ threadId })],
          ['chat.stop', () => client.trpc.chat.stop.mutate({ threadId })],
        ];
        for (const [name, call] of calls) expect({ name, code: await trpcCode(call) }).toEqual({ name, code: 'NOT_FOUND' });
        const subs: [string, Parameters<typeof subscribe>[0]][] = [
          ['chat.stream', (hs) => client.trpc.chat.stream.subscribe({ message: 'hijack', threadId }, hs)],
          ['chat.regenerate', (hs) => client.trpc.chat.regenerate.subscribe({ threadId }, hs)],
          ['chat.edit', (hs) => client.trpc.chat.edit.subscribe({ message: 'hijack', threadId }, hs)],
          ['chat.export', (hs) => client.trpc.chat.export.subscribe({ threadId }, hs)],
        ];
        for (const [name, start] of subs) {
          const outcome = await subscribe(start);
          expect({ name, code: outcome.code, data: outcome.data }).toEqual({ name, code: 'NOT_FOUND', data: [] });
        }
      }
      const listed = await client.trpc.threads.list.query({ limit: 100 }).catch((error: unknown) => ({ threads: [], error }));
      expect(listed.threads.map((t) => t.id)).toEqual(['user-own-bob']);
      expect((await client.trpc.chat.search.query({ q: 'quokkaphone' })).results).toEqual([]);
      const everything = await subscribe((hs) => client.trpc.chat.export.subscribe({ all: true }, hs));
      expect(everything.code).toBeUndefined();
      expect(JSON.stringify(everything.data)).not.toContain('own-alice');
      expect(JSON.stringify(everything.data)).toContain('Bob has his own thread too');
    } finally {
      await client.close();
    }

    expect(await snapshot('own-alice')).toEqual(before);
    expect(h.openai.requests.length).toBe(modelCalls);
    expect((await snapshot('own-bob')).conversations.map((m) => m.content)).toEqual(['Bob has his own thread too', FAKE_REPLY]);
  });

  it('without thread_id everything acts on user-{id}; new threads are user-{id}/…; the design note SQL still groups them', async () => {
    const user = 'dflt';
    const token = await h.token(user);
    expect(await send(token, 'default question')).toEqual({ response: FAKE_REPLY, thread_id: 'user-dflt' });
    const thread = await createThread(token);
    expect(thread.id.startsWith('user-dflt/')).toBe(true);
    expect(thread.id.length).toBeGreaterThan('user-dflt/'.length);
    expect(thread).toMatchObject({ title: null, is_default: false, message_count: 0 });
    expect(await send(token, 'thread question', thread.id)).toEqual({ response: FAKE_REPLY, thread_id: thread.id });
    // The model saw that thread's conversation, and only it.
    const prompt = h.openai.requests.at(-1)!.body.messages.map((m) => `${m.role}:${String(m.content)}`);
    expect(prompt.slice(1)).toEqual(['user:thread question']);

    expect(await historyOf(token)).toEqual([
      ['user', 'default question'],
      ['assistant', FAKE_REPLY],
    ]);
    expect(await historyOf(token, thread.id)).toEqual([
      ['user', 'thread question'],
      ['assistant', FAKE_REPLY],
    ]);
    const stats = await request<{ thread_id: string; message_count?: number }>(`${h.url}/chat/sessions`, { token });
    expect(stats.status).toBe(200);
    expect(stats.body.thread_id).toBe('user-dflt');
    const list = await request<{ threads: ThreadSummary[] }>(`${h.url}/chat/threads`, { token });
    expect(list.body.threads.map((t) => [t.id, t.is_default, t.message_count]).sort()).toEqual(
      [
        ['user-dflt', true, 2],
        [thread.id, false, 2],
      ].sort(),
    );

    const grouped = rowsOf<{ thread_id: string; count: string | number }>(
      await db().execute(sql`SELECT thread_id, count(*) FROM conversations WHERE user_id = ${user} GROUP BY thread_id ORDER BY thread_id`),
    );
    expect(grouped.map((r) => [r.thread_id, Number(r.count)])).toEqual([
      ['user-dflt', 2],
      [thread.id, 2],
    ]);
    const prefixed = rowsOf<{ count: string | number }>(
      await db().execute(sql`SELECT count(*) FROM conversations WHERE thread_id LIKE ${'user-dflt/%'} OR thread_id = ${'user-dflt'}`),
    );
    expect(Number(prefixed[0]!.count)).toBe(4);

    // Clearing without thread_id clears the default thread only.
    const cleared = await request<{ thread_id: string }>(`${h.url}/chat/history`, { method: 'DELETE', token });
    expect(cleared.body.thread_id).toBe('user-dflt');
    expect(await historyOf(token)).toEqual([]);
    expect(await historyOf(token, thread.id)).toHaveLength(2);
  });

  it('history paging with before=next_before returns every message exactly once, in order (REST and tRPC)', async () => {
    const user = 'pager';
    const token = await h.token(user);
    const thread = await createThread(token);
    const ids = await seed(user, thread.id, 257);
    expect(ids).toHaveLength(257);

    const collected: number[] = [];
    let before: number | null = null;
    let pages = 0;
    for (;;) {
      const beforeParam: string = before === null ? '' : `&before=${before}`;
      const res = await request<HistoryBody>(`${h.url}/chat/history?limit=50&thread_id=${enc(thread.id)}${beforeParam}`, { token });
      expect(res.status).toBe(200);
      expect(res.body.thread_id).toBe(thread.id);
      pages++;
      const pageIds = res.body.messages.map((m) => m.id);
      expect([...pageIds].sort((a, b) => a - b)).toEqual(pageIds);
      collected.unshift(...pageIds);
      if (!res.body.has_more) {
        expect(res.body.next_before).toBeNull();
        break;
      }
      expect(pageIds).toHaveLength(50);
      expect(res.body.next_before).toBe(pageIds[0]);
      before = res.body.next_before;
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBe(6);
    expect(new Set(collected).size).toBe(collected.length);
    expect(collected).toEqual(ids);

    const client = connect(h.url, token);
    try {
      const viaTrpc: number[] = [];
      let cursor: number | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await client.trpc.chat.history.query({ threadId: thread.id, limit: 50, before: cursor });
        viaTrpc.unshift(...page.messages.map((m) => m.id));
        if (!page.has_more) break;
        cursor = page.next_before ?? undefined;
      }
      expect(viaTrpc).toEqual(ids);
    } finally {
      await client.close();
    }
  });

  it('search finds a word in another thread with a marked snippet, never another user’s, and not superseded answers', async () => {
    const token = await h.token('seeker');
    const other = await h.token('seeker-other');
    await send(token, 'My toaster sparks when I press the lever');
    const thread = await createThread(token, 'elsewhere');
    await send(token, 'Unrelated kettle question', thread.id);
    await send(other, 'Their toaster is also broken');

    const res = await request<SearchBody>(`${h.url}/chat/search?q=toaster`, { token });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1);
    const [hit] = res.body.results;
    expect(hit).toMatchObject({ thread_id: 'user-seeker', role: 'user' });
    expect(hit!.snippet.filter((p) => p.match).map((p) => p.text.toLowerCase())).toEqual(['toaster']);
    // ts_headline may drop a leading stop word ("My"); the matched word and its neighbours are there.
    expect(hit!.snippet.map((p) => p.text).join('')).toContain('toaster sparks when I press the lever');

    // From the kettle thread's point of view, the word lives in another thread: search is across all of them.
    const kettle = await request<SearchBody>(`${h.url}/chat/search?q=kettle`, { token });
    expect(kettle.body.results.map((r) => r.thread_id)).toEqual([thread.id]);

    // A regenerated answer's old text is no longer found; the new one is.
    h.openai.enqueue({ text: 'Check the zebrawire insulation first.' });
    await send(token, 'What else could spark?', thread.id);
    expect((await request<SearchBody>(`${h.url}/chat/search?q=zebrawire`, { token })).body.results).toHaveLength(1);
    h.openai.enqueue({ text: 'Replace the heating capacitorcoil instead.' });
    const regen = await ssePost(`${h.url}/chat/regenerate`, token, { thread_id: thread.id });
    expect(regen.status).toBe(200);
    expect(regen.events.at(-1)).toMatchObject({ type: 'done' });
    expect((await request<SearchBody>(`${h.url}/chat/search?q=zebrawire`, { token })).body.results).toEqual([]);
    const fresh = await request<SearchBody>(`${h.url}/chat/search?q=capacitorcoil`, { token });
    expect(fresh.body.results.map((r) => [r.thread_id, r.role])).toEqual([[thread.id, 'assistant']]);
  });

  it.runIf(driver.name === 'postgres')(
    'on Postgres the search query uses the GIN index conversations_content_search_idx over a 10,000-message history',
    async () => {
      const user = 'gin-user';
      await db().execute(sql`INSERT INTO threads (id, user_id) VALUES (${'user-gin-user'}, ${user})`);
      await db().execute(sql`
        INSERT INTO conversations (user_id, thread_id, role, content)
        SELECT ${user}, ${'user-gin-user'}, CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
               'message ' || g || ' about the ' || (ARRAY['battery','screen','hinge','charger','speaker'])[g % 5 + 1]
                 || CASE WHEN g % 2500 = 0 THEN ' with a rare gluonfault' ELSE '' END
        FROM generate_series(1, 10000) g`);
      await db().execute(sql`ANALYZE conversations`);
      const query = 'gluonfault';
      // The WHERE clause and ORDER/LIMIT of packages/core/src/store/search.ts, verbatim (the select list does
      // not change the access path).
      const plan = rowsOf<Record<string, string>>(
        await db().execute(sql`EXPLAIN select c.id
          from conversations c
          cross join websearch_to_tsquery('english', ${query}) q
          left join threads t on t.id = c.thread_id and t.user_id = c.user_id
          where c.user_id = ${user} and c.superseded_at is null and to_tsvector('english', c.content) @@ q
          order by c.id desc
          limit ${20}`),
      )
        .map((row) => Object.values(row)[0])
        .join('\n');
      // Found: with ANALYZE'd stats and no planner overrides, Postgres picks a bitmap scan on the GIN index.
      expect(plan).toContain('conversations_content_search_idx');

      const token = await h.token(user);
      const found = await request<SearchBody>(`${h.url}/chat/search?q=${query}`, { token });
      expect(found.body.results).toHaveLength(4);
    },
    60_000,
  );

  it('export: markdown and json hold every message in order; ndjson of all threads is thread records then their messages', async () => {
    const token = await h.token('exporter');
    h.openai.enqueue({ text: 'Answer one.' }, { text: 'Answer two.' }, { text: 'Answer three.' });
    await send(token, 'Question one?');
    const thread = await createThread(token, 'Second thread');
    await send(token, 'Question two?', thread.id);
    await send(token, 'Question three?', thread.id);
    const expected = ['Question two?', 'Answer two.', 'Question three?', 'Answer three.'];

    const md = await fetch(`${h.url}/chat/export?thread_id=${enc(thread.id)}&format=markdown`, { headers: { authorization: `Bearer ${token}` } });
    expect(md.status).toBe(200);
    expect(md.headers.get('content-type')).toMatch(/^text\/markdown/);
    const text = await md.text();
    expect(text.startsWith('# Second thread\n')).toBe(true);
    const positions = expected.map((m) => text.indexOf(m));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(text).not.toContain('Question one?');
    expect(text.match(/^### You · /gm)).toHaveLength(2);
    expect(text.match(/^### FixThread · /gm)).toHaveLength(2);

    const json = await request<{ thread: { id: string; title: string }; messages: { role: string; content: string; thread_id: string }[] }>(
      `${h.url}/chat/export?thread_id=${enc(thread.id)}&format=json`,
      { token },
    );
    expect(json.status).toBe(200);
    expect(json.body.thread).toMatchObject({ id: thread.id, title: 'Second thread' });
    expect(json.body.messages.map((m) => m.content)).toEqual(expected);
    expect(json.body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);

    const nd = await fetch(`${h.url}/chat/export?format=ndjson`, { headers: { authorization: `Bearer ${token}` } });
    expect(nd.status).toBe(200);
    const records = (await nd.text())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; id: string | number; thread_id?: string; content?: string });
    const shape = records.map((r) => (r.type === 'thread' ? `thread:${r.id}` : `${r.thread_id}:${r.content}`));
    const defaultPart = ['thread:user-exporter', 'user-exporter:Question one?', 'user-exporter:Answer one.'];
    const threadPart = [`thread:${thread.id}`, ...expected.map((m) => `${thread.id}:${m}`)];
    // Threads come by id; 'user-exporter' sorts before 'user-exporter/…'.
    expect(shape).toEqual([...defaultPart, ...threadPart]);
  });

  it('regenerate replaces the last answer everywhere (history, model context) but keeps the old row superseded; edit replaces question and answer', async () => {
    const user = 'regen';
    const token = await h.token(user);
    const empty = await ssePost(`${h.url}/chat/regenerate`, token, {});
    expect(empty.status).toBe(400);
    expect(empty.error?.error.code).toBe('VALIDATION');
    const emptyEdit = await ssePost(`${h.url}/chat/edit`, token, { message: 'nothing to edit' });
    expect(emptyEdit.status).toBe(400);
    const fresh = await createThread(token);
    expect((await ssePost(`${h.url}/chat/regenerate`, token, { thread_id: fresh.id })).status).toBe(400);
    expect((await ssePost(`${h.url}/chat/edit`, token, { message: 'x', thread_id: fresh.id })).status).toBe(400);
    expect((await snapshot(user)).conversations).toEqual([]);

    h.openai.enqueue({ text: 'OLD-ANSWER remove the battery.' });
    await send(token, 'How do I fix my hinge?');
    h.openai.enqueue({ text: 'NEW-ANSWER tighten the torx screws.' });
    const regen = await ssePost(`${h.url}/chat/regenerate`, token, {});
    expect(regen.status).toBe(200);
    expect(tokensOf(regen.events)).toBe('NEW-ANSWER tighten the torx screws.');
    expect(regen.events.at(-1)).toMatchObject({ type: 'done', thread_id: 'user-regen' });
    expect(await historyOf(token)).toEqual([
      ['user', 'How do I fix my hinge?'],
      ['assistant', 'NEW-ANSWER tighten the torx screws.'],
    ]);
    const rows = (await snapshot(user)).conversations;
    const old = rows.find((r) => r.content === 'OLD-ANSWER remove the battery.');
    expect(old?.supersededAt).toBeInstanceOf(Date);
    expect(rows.filter((r) => r.content === 'How do I fix my hinge?')).toHaveLength(1);
    expect(rows.filter((r) => r.supersededAt === null).map((r) => r.content)).toEqual([
      'How do I fix my hinge?',
      'NEW-ANSWER tighten the torx screws.',
    ]);

    h.openai.enqueue({ text: 'Answer to the follow-up.' });
    const callsBefore = h.openai.requests.length;
    await send(token, 'And the display cable?');
    const next = h.openai.requests[callsBefore];
    const context = JSON.stringify(next?.body.messages);
    expect(context).toContain('NEW-ANSWER tighten the torx screws.');
    expect(context).toContain('How do I fix my hinge?');
    expect(context).not.toContain('OLD-ANSWER');

    h.openai.enqueue({ text: 'Edited answer about the flex ribbon.' });
    const edit = await ssePost(`${h.url}/chat/edit`, token, { message: 'And the flex ribbon?' });
    expect(edit.status).toBe(200);
    expect(tokensOf(edit.events)).toBe('Edited answer about the flex ribbon.');
    expect(await historyOf(token)).toEqual([
      ['user', 'How do I fix my hinge?'],
      ['assistant', 'NEW-ANSWER tighten the torx screws.'],
      ['user', 'And the flex ribbon?'],
      ['assistant', 'Edited answer about the flex ribbon.'],
    ]);
    const after = (await snapshot(user)).conversations;
    for (const content of ['And the display cable?', 'Answer to the follow-up.']) {
      const row = after.find((r) => r.content === content);
      expect({ content, superseded: row?.supersededAt instanceof Date }).toEqual({ content, superseded: true });
    }
    const editCall = h.openai.requests.at(-1);
    expect(JSON.stringify(editCall?.body.messages)).not.toContain('And the display cable?');
  });

  it('a new thread is titled after its first answer (heuristic); a user rename is never overwritten', async () => {
    const token = await h.token('titler');
    const thread = await createThread(token);
    await send(token, 'Pixel battery swelling after update\nmore details here', thread.id);
    const titleOf = async (id: string) =>
      (await db().select({ title: threads.title, source: threads.titleSource }).from(threads).where(eq(threads.id, id)))[0];
    expect(await waitFor(async () => ((await titleOf(thread.id))?.title ? titleOf(thread.id) : undefined))).toEqual({
      title: 'Pixel battery swelling after update',
      source: 'auto',
    });
    const renamed = await request<ThreadSummary>(`${h.url}/chat/threads/${enc(thread.id)}`, { method: 'PATCH', token, json: { title: '  My   Pixel ' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.title).toBe('My Pixel');
    await send(token, 'Another question', thread.id);

    // Renamed before its first answer: the automatic title must not replace it.
    const early = await createThread(token);
    expect((await request(`${h.url}/chat/threads/${enc(early.id)}`, { method: 'PATCH', token, json: { title: 'Chosen by me' } })).status).toBe(200);
    await send(token, 'Heuristic would name it this', early.id);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await titleOf(early.id)).toEqual({ title: 'Chosen by me', source: 'user' });
    expect(await titleOf(thread.id)).toEqual({ title: 'My Pixel', source: 'user' });
  });

  it('bad input is a 4xx JSON error and stores nothing', async () => {
    const user = 'bad-input-threads';
    const token = await h.token(user);
    const thread = await createThread(token, 'Original');
    const before = await snapshot(user);
    const cases: [string, string, unknown, string][] = [
      ['POST', '/chat/threads', { title: '' }, 'title'],
      ['POST', '/chat/threads', { title: '   ' }, 'title'],
      ['POST', '/chat/threads', { title: 'x'.repeat(121) }, 'title'],
      ['POST', '/chat/threads', { title: 42 }, 'title'],
      ['PATCH', `/chat/threads/${enc(thread.id)}`, { title: '' }, 'title'],
      ['PATCH', `/chat/threads/${enc(thread.id)}`, { title: 'y'.repeat(121) }, 'title'],
      ['PATCH', `/chat/threads/${enc(thread.id)}`, {}, 'title'],
      ['GET', '/chat/threads?cursor=not-a-cursor', undefined, 'cursor'],
      ['GET', `/chat/threads?cursor=${Buffer.from('["nope","x"]').toString('base64url')}`, undefined, 'cursor'],
      ['GET', '/chat/threads?limit=0', undefined, 'limit'],
      ['GET', '/chat/search?q=', undefined, 'q'],
      ['GET', '/chat/search?q=%20%20', undefined, 'q'],
      ['GET', '/chat/search', undefined, 'q'],
      ['GET', `/chat/search?q=${'a'.repeat(201)}`, undefined, 'q'],
      ['GET', `/chat/export?thread_id=${enc(thread.id)}&format=pdf`, undefined, 'format'],
      ['GET', '/chat/history?before=abc', undefined, 'before'],
    ];
    for (const [method, path, json, field] of cases) {
      const res = await request<ErrorResponseBody>(`${h.url}${path}`, { method, token, json });
      expect({ method, path: path.slice(0, 60), status: res.status, json: res.headers.get('content-type')?.startsWith('application/json') }).toEqual({
        method,
        path: path.slice(0, 60),
        status: 400,
        json: true,
      });
      expect(res.body.error.code).toBe('VALIDATION');
      expect(res.body.error.message).toMatch(new RegExp(field));
    }
    expect(await snapshot(user)).toEqual(before);
    const titleAtLimit = await request<ThreadSummary>(`${h.url}/chat/threads`, { token, json: { title: 'z'.repeat(120) } });
    expect(titleAtLimit.status).toBe(201);
  });
});

describe.each(testDrivers())('model-made thread titles on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver, { env: { THREAD_TITLES: 'model' } });
  });
  afterAll(() => h.close());

  it('the title is the model’s and its usage is charged in usage_ledger (round 1000) and user_usage; a rename still wins', async () => {
    const user = 'model-titler';
    const token = await h.token(user);
    const db = h.database.db;
    h.openai.setTitleReply({ text: 'Cracked iPhone screen', usage: { prompt_tokens: 111, completion_tokens: 7 } });
    const created = await request<ThreadSummary>(`${h.url}/chat/threads`, { token, json: {} });
    const threadId = created.body.id;
    await request(`${h.url}/chat`, { token, json: { message: 'my screen broke when I dropped it', thread_id: threadId } });
    const title = await waitFor(async () => {
      const [row] = await db.select().from(threads).where(eq(threads.id, threadId));
      return row?.title ?? undefined;
    });
    expect(title).toBe('Cracked iPhone screen');
    expect(h.openai.titleRequests).toHaveLength(1);

    const ledger = await waitFor(async () => {
      const rows = await db.select().from(usageLedger).where(and(eq(usageLedger.userId, user), eq(usageLedger.round, 1000)));
      return rows.length ? rows : undefined;
    });
    expect(ledger.map((r) => [r.promptTokens, r.completionTokens, r.totalTokens, r.estimated])).toEqual([[111, 7, 118, false]]);
    const allCharges = await db.select().from(usageLedger).where(eq(usageLedger.userId, user));
    expect(allCharges.length).toBeGreaterThan(1);
    const [usage] = await db.select().from(userUsage).where(eq(userUsage.userId, user));
    expect(usage?.totalTokens).toBe(allCharges.reduce((sum, r) => sum + r.totalTokens, 0));
    expect(usage!.totalTokens).toBeGreaterThanOrEqual(118);

    // Renamed before the first answer: the model title must not replace it.
    const early = (await request<ThreadSummary>(`${h.url}/chat/threads`, { token, json: {} })).body.id;
    await request(`${h.url}/chat/threads/${encodeURIComponent(early)}`, { method: 'PATCH', token, json: { title: 'Mine' } });
    await request(`${h.url}/chat`, { token, json: { message: 'another problem', thread_id: early } });
    // An already-titled thread is not sent to the title model at all (nothing to wait for): give it time anyway.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.openai.titleRequests).toHaveLength(1);
    const [row] = await db.select().from(threads).where(eq(threads.id, early));
    expect([row?.title, row?.titleSource]).toEqual(['Mine', 'user']);
  });
});
