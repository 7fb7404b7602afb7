import { eq, sql } from 'drizzle-orm';
import { conversations, turns, usageLedger, userUsage } from '@fixthread/core/schema';
import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import { parseSseEvents } from '@fixthread/testing';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, streamChat, type ErrorResponseBody, type StreamEvent } from './support/http';
import { startHarness, type Harness } from './support/harness';
import { connect } from './support/trpc';

const tokensOf = (events: StreamEvent[]) => events.map((e) => (e.type === 'token' ? e.content : '')).join('');

interface IdentifiedEvent {
  id: string;
  event: StreamEvent;
}

async function sseWithIds(response: Response): Promise<IdentifiedEvent[]> {
  const events: IdentifiedEvent[] = [];
  if (!response.body) return events;
  for await (const sse of parseSseEvents(response.body)) events.push({ id: sse.id, event: JSON.parse(sse.data) as StreamEvent });
  return events;
}

describe.each(testDrivers())('durable turns on $name', (driver) => {
  let h: Harness;
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
    h = await startHarness(driver, { database });
  });
  afterAll(async () => {
    await h.close();
    await database[Symbol.asyncDispose]();
  });

  const rowsOf = async (userId: string) => (await h.messages()).filter((m) => m.userId === userId);
  const ledgerSum = async (userId: string) => {
    const [row] = await database.db
      .select({ total: sql<string | number | null>`sum(${usageLedger.totalTokens})` })
      .from(usageLedger)
      .where(eq(usageLedger.userId, userId));
    return Number(row?.total ?? 0);
  };
  const usageOf = async (userId: string) =>
    (await database.db.select().from(userUsage).where(eq(userUsage.userId, userId)))[0]?.totalTokens ?? 0;

  it('a retry with the same Idempotency-Key paid twice: now 20 at once and one after give one question, one answer, one charge', async () => {
    const user = 'idem-rest';
    const token = await h.token(user);
    h.openai.enqueue({ text: 'Reseat the ribbon cable.', delayMsBetweenChunks: 15, usage: { prompt_tokens: 40, completion_tokens: 6 } });
    const send = () =>
      request<{ response: string; thread_id: string }>(`${h.url}/chat`, {
        token,
        json: { message: 'screen flickers' },
        headers: { 'idempotency-key': 'retry-me-1' },
      });
    const answers = await Promise.all(Array.from({ length: 20 }, send));
    const again = await send();
    for (const answer of [...answers, again]) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ response: 'Reseat the ribbon cable.', thread_id: `user-${user}` });
    }
    expect((await rowsOf(user)).map((m) => [m.role, m.content])).toEqual([
      ['user', 'screen flickers'],
      ['assistant', 'Reseat the ribbon cable.'],
    ]);
    expect(h.openai.requests.filter((r) => JSON.stringify(r.body.messages).includes('screen flickers'))).toHaveLength(1);
    expect(await usageOf(user)).toBe(46);
    expect(await ledgerSum(user)).toBe(46);

    const conflict = await request<ErrorResponseBody>(`${h.url}/chat`, {
      token,
      json: { message: 'a different question' },
      headers: { 'idempotency-key': 'retry-me-1' },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('CONFLICT');
    expect(await rowsOf(user)).toHaveLength(2);
  });

  it('the stream with a repeated key replays the same events, and a failed turn its same error', async () => {
    const user = 'idem-sse';
    const token = await h.token(user);
    h.openai.enqueue({ text: 'Check the fuse first.', chunkSize: 4, delayMsBetweenChunks: 5 });
    const stream = (key: string, message = 'no power') =>
      fetch(`${h.url}/chat/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ message }),
      });
    const first = await sseWithIds(await stream('sse-key'));
    const replay = await sseWithIds(await stream('sse-key'));
    expect(tokensOf(replay.map((e) => e.event))).toBe('Check the fuse first.');
    expect(replay.at(-1)).toEqual(first.at(-1));
    expect(replay.at(-1)?.event).toMatchObject({ type: 'done', interrupted: false, stopped: false });

    h.openai.enqueue({ error: { status: 503 } });
    const failed = await sseWithIds(await stream('sse-fail', 'and now?'));
    const failedAgain = await sseWithIds(await stream('sse-fail', 'and now?'));
    expect(failed.at(-1)?.event).toMatchObject({ type: 'error', code: 'UPSTREAM_UNAVAILABLE' });
    expect(failedAgain.at(-1)?.event).toEqual(failed.at(-1)?.event);
    expect((await rowsOf(user)).map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('tRPC had no client message id: now chat.send and chat.stream take one, and another message under it is CONFLICT', async () => {
    const user = 'idem-trpc';
    const client = connect(h.url, await h.token(user));
    try {
      h.openai.enqueue({ text: 'Replace the battery.' });
      const sends = await Promise.all(
        Array.from({ length: 5 }, () => client.trpc.chat.send.mutate({ message: 'dead phone', clientMessageId: 'trpc-key' })),
      );
      expect(new Set(sends.map((s) => s.response))).toEqual(new Set(['Replace the battery.']));
      const error = await client.trpc.chat.send.mutate({ message: 'other', clientMessageId: 'trpc-key' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<never>).data).toMatchObject({ code: 'CONFLICT' });
      const tooLong = await client.trpc.chat.send.mutate({ message: 'x', clientMessageId: 'k'.repeat(256) }).catch((e: unknown) => e);
      expect((tooLong as TRPCClientError<never>).data).toMatchObject({ code: 'BAD_REQUEST' });
      expect((await rowsOf(user)).map((m) => m.role)).toEqual(['user', 'assistant']);
    } finally {
      await client.close();
    }
  });

  it('20 concurrent sends on one thread give 40 messages in strict alternation, each prompt holding every earlier turn', async () => {
    const user = 'burst';
    const token = await h.token(user);
    h.openai.setResponder((body) => {
      const asked = body.messages.filter((m) => m.role === 'user').at(-1);
      return { text: `answer to ${String(asked?.content)}` };
    });
    try {
      const sends = Array.from({ length: 20 }, (_, i) => request(`${h.url}/chat`, { token, json: { message: `q${i}` } }));
      for (const answer of await Promise.all(sends)) expect(answer.status).toBe(200);
    } finally {
      h.openai.setResponder(undefined);
    }
    const rows = await rowsOf(user);
    expect(rows).toHaveLength(40);
    rows.forEach((row, i) => expect(row.role).toBe(i % 2 === 0 ? 'user' : 'assistant'));
    for (let i = 1; i < rows.length; i += 2) expect(rows[i]?.content).toBe(`answer to ${rows[i - 1]?.content}`);
    // The sends race, so any of them may be the thread's first question: every prompt of this thread holds it.
    const first = rows[0]?.content;
    const prompts = h.openai.requests.filter((r) => r.body.messages.some((m) => m.role === 'user' && m.content === first));
    expect(prompts).toHaveLength(20);
    for (const prompt of prompts) {
      const conversation = prompt.body.messages.filter((m) => m.role !== 'system').map((m) => m.content);
      const asked = conversation.length;
      expect(conversation).toEqual(rows.slice(0, asked).map((m) => m.content));
    }
  });

  it('the same message text sent twice on purpose gives two questions and two answers', async () => {
    const user = 'twice';
    const token = await h.token(user);
    h.openai.enqueue({ text: 'first' }, { text: 'second' });
    await request(`${h.url}/chat`, { token, json: { message: 'yes' } });
    await request(`${h.url}/chat`, { token, json: { message: 'yes' } });
    expect((await rowsOf(user)).map((m) => [m.role, m.content])).toEqual([
      ['user', 'yes'],
      ['assistant', 'first'],
      ['user', 'yes'],
      ['assistant', 'second'],
    ]);
  });

  it('a finished turn replays from GET /chat/stream/{turn_id}, and Last-Event-ID resumes exactly after it', async () => {
    const user = 'replay';
    const token = await h.token(user);
    const text = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    h.openai.enqueue({ text, chunkSize: 3, delayMsBetweenChunks: 5 });
    const live = await sseWithIds(
      await fetch(`${h.url}/chat/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'long one' }),
      }),
    );
    const done = live.at(-1)?.event;
    expect(done).toMatchObject({ type: 'done' });
    const turnId = done?.type === 'done' ? done.turn_id : '';
    const [question, reply] = await rowsOf(user);
    expect(done).toMatchObject({ user_message_id: question?.id, message_id: reply?.id, thread_id: `user-${user}` });
    for (const cut of [0, 1, Math.floor(live.length / 2), live.length - 2]) {
      const after = live[cut]!;
      const resumed = await sseWithIds(
        await fetch(`${h.url}/chat/stream/${turnId}`, { headers: { authorization: `Bearer ${token}`, 'last-event-id': after.id } }),
      );
      expect(tokensOf(live.slice(0, cut + 1).map((e) => e.event)) + tokensOf(resumed.map((e) => e.event))).toBe(text);
      expect(resumed.at(-1)).toEqual(live.at(-1));
    }
    const other = await fetch(`${h.url}/chat/stream/${turnId}`, { headers: { authorization: `Bearer ${await h.token('someone-else')}` } });
    expect(other.status).toBe(404);
  });

  it('for every user, user_usage.total_tokens equals the sum of the ledger after completed, stopped and failed turns', async () => {
    const users = ['ledger-a', 'ledger-b', 'ledger-c'];
    for (const user of users) {
      const token = await h.token(user);
      h.openai.enqueue({ text: 'ok', usage: { prompt_tokens: 11, completion_tokens: 2 } });
      await request(`${h.url}/chat`, { token, json: { message: 'complete me' } });
      h.openai.enqueue({ text: 'tool round', toolCalls: [{ name: 'search_ifixit_guides', arguments: '{"query":"x"}' }] }, { error: { status: 503 } });
      await request(`${h.url}/chat`, { token, json: { message: 'fail after a round' } });
      h.openai.enqueue({ text: Array.from({ length: 200 }, (_, i) => `s${i}`).join(' '), delayMsBetweenChunks: 10 });
      const stopped = streamChat(h.url, token, 'stop me');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const client = connect(h.url, token);
      await client.trpc.chat.stop.mutate();
      await client.close();
      await stopped;
    }
    for (const user of users) {
      expect(await usageOf(user)).toBeGreaterThan(13);
      expect(await usageOf(user)).toBe(await ledgerSum(user));
      const statuses = (await database.db.select({ status: turns.status }).from(turns).where(eq(turns.userId, user))).map((t) => t.status);
      expect(statuses.sort()).toEqual(['completed', 'failed', 'stopped']);
      const stats = await request<{ estimated_tokens: number; total_tokens: number }>(`${h.url}/chat/sessions`, { token: await h.token(user) });
      expect(stats.body.estimated_tokens).toBeGreaterThan(0);
      expect(stats.body.estimated_tokens).toBeLessThan(stats.body.total_tokens);
    }
    const [assistant] = await database.db
      .select()
      .from(conversations)
      .where(eq(conversations.content, 'ok'))
      .limit(1);
    expect(assistant?.usageTokens).toBe(13);
  });
});
