/**
 * The raw-driver limit of one turn: the same model call and the same rows written, straight through the
 * driver (no Drizzle, no engine, no HTTP). Optionally also the two reads the engine makes before calling the
 * model (the "same question still unanswered?" check and the context window), in equivalent SQL.
 */
import { threadIdFor } from '@fixthread/core';
import type { ChatRequestBody } from '@fixthread/testing';
import type { RawDb } from './databases';
import { streamWithSdk, type SdkClient } from './openai-sdk';

const INSERT_USER = `insert into conversations (user_id, thread_id, role, content, content_tokens)
  values ($1, $2, 'user', $3, $4) returning id, created_at`;

const INSERT_ASSISTANT = `insert into conversations
  (user_id, thread_id, role, content, content_tokens, usage_tokens, usage_estimated, finish_reason)
  values ($1, $2, 'assistant', $3, $4, $5, false, 'stop') returning id, created_at`;

const ADD_USAGE = `insert into user_usage (user_id, total_tokens) values ($1, $2)
  on conflict (user_id) do update set total_tokens = user_usage.total_tokens + excluded.total_tokens, updated_at = now()`;

const LATEST_MESSAGE = `select id, role, content, created_at, finish_reason from conversations
  where thread_id >= $1 and thread_id <= $1 order by thread_id desc, id desc limit 1`;

const CONTEXT_WINDOW = `select id, role, content, tokens from (
    select id, role, content, tokens,
           sum(tokens) over (order by id desc rows between unbounded preceding and current row) as running,
           row_number() over (order by id desc) as rn
    from (
      select id, role, content, coalesce(content_tokens, ceil(length(content) / 3.0)::int) + 4 as tokens
      from conversations where thread_id >= $1 and thread_id <= $1
      order by thread_id desc, id desc limit $2
    ) newest
  ) w where w.running <= $3 or w.rn = 1 order by w.id asc`;

export interface RawTurnOptions {
  raw: RawDb;
  sdk: SdkClient;
  /** The request the server sent for a turn like this one. */
  body: ChatRequestBody;
  userId: string;
  message: string;
  withReads: boolean;
}

export async function rawTurn({
  raw,
  sdk,
  body,
  userId,
  message,
  withReads,
}: RawTurnOptions): Promise<string> {
  const threadId = threadIdFor(userId);
  if (withReads) await raw.query(LATEST_MESSAGE, [threadId]);
  await raw.query(INSERT_USER, [userId, threadId, message, Math.ceil(message.length / 4)]);
  if (withReads) await raw.query(CONTEXT_WINDOW, [threadId, 400, 7000]);
  const reply = await streamWithSdk(sdk, body);
  await raw.transaction(async (query) => {
    await query(INSERT_ASSISTANT, [userId, threadId, reply.text, reply.deltas, reply.totalTokens]);
    await query(ADD_USAGE, [userId, reply.totalTokens]);
  });
  return reply.text;
}
