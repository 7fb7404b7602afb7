/**
 * Baseline A: the work one FixThread turn does in the database, as the engine did it before its statements were
 * merged (captured from a real engine.send on PGlite: the start CTE that takes the thread's advisory lock and
 * inserts the question, the thread and the turn record at once; the context read; the attachments read; the
 * stored token events; then one transaction with the usage ledger, the usage upsert, the reply and the turn's
 * closing update), run straight through the driver around one openai SDK stream from the same fake. No Drizzle,
 * engine, row-level security or HTTP. The server now sends the same rows in five round trips (the close is one
 * statement, the photo read is skipped for questions without photos), each scoped by row-level security; the
 * baseline keeps its eleven statements, so the ratio shows what the server's changes bought.
 */
import { createHash, randomUUID } from 'node:crypto';
import { threadIdFor } from '@fixthread/core';
import type { ChatRequestBody } from '@fixthread/testing';
import type { RawDb } from './databases';
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

const CONTEXT = `select w.id, w.role, w.content, w.tokens from (
    select id, role, content, tokens,
      sum(tokens) over (order by id desc rows between unbounded preceding and current row) as running,
      row_number() over (order by id desc) as rn
    from (
      select id, role, content, coalesce(content_tokens, ceil(length(content) / 3.0)::int) + 4 as tokens
      from "conversations"
      where "conversations"."thread_id" >= $1 and "conversations"."thread_id" <= $2
        and "conversations"."superseded_at" is null
      order by "conversations"."thread_id" desc, "conversations"."id" desc limit $3) newest) w
  where w.running <= $4 or w.rn = 1 order by w.id asc`;

const ATTACHMENTS = `select "id", "message_id", "position", "content_type", "width", "height", "byte_size" from "attachments"
  where ("attachments"."message_id" = any($1::int[]) and "attachments"."user_id" = $2)
  order by "attachments"."message_id" asc, "attachments"."position" asc`;

const TURN_EVENT = `insert into "turn_events" ("turn_id", "seq", "round", "type", "content") values ($1, $2, $3, $4, $5)`;

const LEDGER = `insert into "usage_ledger" ("id", "user_id", "turn_id", "round", "prompt_tokens", "completion_tokens",
    "total_tokens", "cached_tokens", "estimated", "created_at")
  values (default, $1, $2, $3, $4, $5, $6, $7, $8, default) on conflict ("turn_id","round") do nothing returning "id"`;

const USAGE = `insert into "user_usage" ("user_id", "total_tokens", "created_at", "updated_at") values ($1, $2, default, default)
  on conflict ("user_id") do update set "total_tokens" = "user_usage"."total_tokens" + excluded.total_tokens, "updated_at" = now()`;

const REPLY = `insert into "conversations" ("id", "user_id", "thread_id", "role", "content", "created_at", "content_tokens",
    "usage_tokens", "usage_estimated", "finish_reason", "superseded_at")
  values (default, $1, $2, $3, $4, default, $5, $6, $7, $8, default) returning "id", "created_at"`;

const CLOSE_TURN = `update "turns" set "assistant_message_id" = $1, "status" = $2, "finished_at" = now(), "usage_tokens" = $3,
    "usage_estimated" = $4
  where ("turns"."id" = $5 and "turns"."owner" = $6 and "turns"."status" = $7) returning "id"`;

const OWNER = randomUUID();

/** One baseline-A turn; returns the streamed text. */
export async function baselineTurn(raw: RawDb, sdk: SdkClient, body: ChatRequestBody, userId: string, message: string): Promise<string> {
  const threadId = threadIdFor(userId);
  const turnId = randomUUID();
  const hash = createHash('sha256').update(message).digest('hex');
  const tokens = Math.ceil(message.length / 4);
  const [started] = await raw.query(START_TURN, [
    `fixthread:thread:${threadId}`, userId, threadId, message, tokens, threadId, userId,
    turnId, userId, threadId, null, hash, OWNER, 6,
  ]);
  if (!started) throw new Error('baseline turn: the thread lock was taken (one turn per user at a time)');
  const context = await raw.query(CONTEXT, [threadId, threadId, 400, 7758]);
  await raw.query(ATTACHMENTS, [context.map((row) => row.id), userId]);
  // The engine stores the first token at once and the rest as one batched event (a 60-token reply: 2 events).
  let first: Promise<unknown> | undefined;
  const reply = await streamWithSdk(sdk, body, performance.now(), (content) => {
    first ??= raw.query(TURN_EVENT, [turnId, 1, 0, 'token', content]);
  });
  await first;
  const rest = reply.text.slice(reply.firstContent.length);
  if (rest) await raw.query(TURN_EVENT, [turnId, 2, 0, 'token', rest]);
  const promptTokens = Math.max(0, reply.totalTokens - reply.deltas);
  await raw.transaction(async (query) => {
    await query(LEDGER, [userId, turnId, 0, promptTokens, reply.deltas, reply.totalTokens, 0, false]);
    await query(USAGE, [userId, reply.totalTokens]);
    const [saved] = await query(REPLY, [userId, threadId, 'assistant', reply.text, reply.deltas, reply.totalTokens, false, 'stop']);
    await query(CLOSE_TURN, [saved?.id, 'completed', reply.totalTokens, false, turnId, OWNER, 'running']);
  });
  return reply.text;
}
