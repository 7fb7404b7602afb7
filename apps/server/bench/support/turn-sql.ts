/**
 * Baseline A: the statements one FixThread turn sends (the start CTE that takes the thread's advisory lock and
 * inserts the question, the thread and the turn record at once; the context window, which says which questions
 * have photos, so none are read for a text thread, in the same transaction and round trip; the first token's event
 * at once; the thread's lock and then the one statement that stores the rest of the events, charges the last call,
 * saves the reply, returns the reservation and closes the turn, again one transaction and round trip), run
 * straight through the driver around one openai SDK stream from the same fake. The context window and the events
 * are core's own statement texts, imported, so they cannot drift. No Drizzle, engine, row-level security or HTTP:
 * three round trips a turn, where the server adds the scope's set_config to each transaction (still one round trip).
 */
import { createHash, randomUUID } from 'node:crypto';
import { APPEND_TURN_EVENTS, CONTEXT_WINDOW, threadIdFor } from '@fixthread/core';
import type { ChatRequestBody } from '@fixthread/testing';
import type { RawDb, Row } from './databases';
import { streamWithSdk, type SdkClient } from './openai-sdk';

const START_TURN = `with gate as (select pg_try_advisory_xact_lock(hashtext($1)) as ok),
  question as (
    insert into "conversations" (user_id, thread_id, role, content, content_tokens)
    select $2, $3, 'user', $4, $5::int from gate where gate.ok and true returning id),
  thread as (
    insert into "threads" (id, user_id, last_message_at) select $6, $7, now() from question
    on conflict (id) do update set last_message_at = now() where "threads"."user_id" = excluded.user_id
    returning title)
  insert into "turns" (id, user_id, thread_id, client_message_id, message_hash, status, owner, lease_expires_at,
    started_at, user_message_id)
  select $8, $9, $10, $11, $12, 'running', $13, now() + make_interval(secs => $14::float8), now(), question.id
  from question
  returning user_message_id, not exists (select 1 from thread where title is not null) as untitled, null::int as replaced_id`;

const CLOSE_TURN = `with owned as (
    select id from turns where id = $1 and owner = $2 and status = 'running' for update
  ),
  charged as (
    insert into usage_ledger (user_id, turn_id, round, prompt_tokens, completion_tokens, total_tokens, cached_tokens, estimated)
    select $3, $1, $4::int, $5::int, $6::int, $7::int, $8::int, $9::boolean from owned
    on conflict (turn_id, round) do nothing
    returning total_tokens
  ),
  events as (
    insert into turn_events (turn_id, seq, round, type, content)
    select $1, e.seq, e.round, e.type, e.content
    from unnest($14::int[], $15::int[], $16::text[], $17::text[]) as e(seq, round, type, content)
    where exists (select 1 from owned)
  ),
  usage as (
    insert into user_usage (user_id, total_tokens) select $3, total_tokens from charged
    on conflict (user_id) do update set total_tokens = user_usage.total_tokens + excluded.total_tokens, updated_at = now()
    returning 1 as locked
  ),
  released as (
    delete from turn_reservations where turn_id = $1 and exists (select 1 from owned) returning day, tokens
  ),
  today as (
    insert into daily_usage (user_id, day, used_tokens)
    select $3, $10::date, coalesce((select total_tokens from charged), 0) + 0 * (select count(*) from usage)::int
    where exists (select 1 from charged where total_tokens > 0) or exists (select 1 from released where day = $10::date)
    on conflict (user_id, day) do update set
      used_tokens = daily_usage.used_tokens + excluded.used_tokens,
      reserved_tokens = greatest(daily_usage.reserved_tokens - coalesce((select sum(tokens) from released where day = $10::date), 0), 0),
      updated_at = now()
  ),
  other_day as (
    update daily_usage set reserved_tokens = greatest(daily_usage.reserved_tokens - released.tokens, 0), updated_at = now()
    from released where daily_usage.user_id = $3 and daily_usage.day = released.day and released.day <> $10::date
  ),
  reply as (
    insert into conversations (user_id, thread_id, role, content, content_tokens, usage_tokens, usage_estimated, finish_reason)
    select $3, $11, 'assistant', $12, $13::int, $7::int, false, 'stop' from owned
    returning id
  ),
  closed as (
    update turns set assistant_message_id = reply.id, status = 'completed', finished_at = now(),
      usage_tokens = $7::int, usage_estimated = false
    from reply where turns.id = $1
    returning turns.id
  )
  select (select id from reply) as message_id from closed`;

const OWNER = randomUUID();
const LOCK_THREAD = `select pg_advisory_xact_lock(hashtext($1))::text as locked`;

/** One baseline-A turn; returns the streamed text. */
export async function baselineTurn(raw: RawDb, sdk: SdkClient, body: ChatRequestBody, userId: string, message: string): Promise<string> {
  const threadId = threadIdFor(userId);
  const turnId = randomUUID();
  const hash = createHash('sha256').update(message).digest('hex');
  const tokens = Math.ceil(message.length / 4);
  // The start and the context window in one transaction, one round trip, as the engine sends them.
  const [[started]] = (await raw.batch([
    [START_TURN, [`fixthread:thread:${threadId}`, userId, threadId, message, tokens, threadId, userId, turnId, userId, threadId, null, hash, OWNER, 6]],
    [CONTEXT_WINDOW, [threadId, 400, 7758]],
  ])) as [Row[], Row[]];
  if (!started) throw new Error('baseline turn: the thread lock was taken (one turn per user at a time)');
  // The engine stores the first token at once and the rest as one batched event (a 60-token reply: 2 events).
  let first: Promise<unknown> | undefined;
  const reply = await streamWithSdk(sdk, body, performance.now(), (content) => {
    first ??= raw.query(APPEND_TURN_EVENTS, [turnId, [1], [0], ['token'], [content]]);
  });
  await first;
  // The rest goes in with the close, as the engine stores a reply's last events.
  const rest = reply.text.slice(reply.firstContent.length);
  const tail = rest ? [[2], [0], ['token'], [rest]] : [[], [], [], []];
  const promptTokens = Math.max(0, reply.totalTokens - reply.deltas);
  const day = new Date().toISOString().slice(0, 10);
  // The thread's lock, then the close, in one transaction and one round trip, as the engine closes a turn.
  const [, [closed]] = (await raw.batch([[LOCK_THREAD, [`fixthread:thread:${threadId}`]], [CLOSE_TURN, [
    turnId, OWNER, userId, 0, promptTokens, reply.deltas, reply.totalTokens, 0, false, day, threadId, reply.text, reply.deltas, ...tail,
  ]]])) as [Row[], Row[]];
  if (!closed) throw new Error('baseline turn: the turn was not closed');
  return reply.text;
}
