import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/db';
import { queryBatch, rawStatement } from '../db/raw-rows';
import { conversations, dailyUsage, turnEvents, turnReservations, turns, usageLedger, userUsage } from '../db/schema';
import { utcDay } from './daily-usage';
import type { ModelCallUsage } from './ledger';
import { lockThreadStatement, type StreamedChunk } from './turns';

export interface ClosingReply {
  turnId: string;
  owner: string;
  userId: string;
  threadId: string;
  content: string;
  contentTokens: number;
  /** Every token the turn spent, across all of its model calls. */
  usageTokens: number;
  usageEstimated: boolean;
  finishReason: string;
  status: 'completed' | 'stopped';
  /** The last model call, when it is not charged yet. */
  charge: ModelCallUsage | null;
  /**
   * The turn's last events, not stored yet: they go in with the close (only if the turn is still ours), so the
   * turn's final batch costs no round trip of its own. Empty when everything streamed is stored already.
   */
  events?: StreamedChunk[];
}

/**
 * A reply without tool calls, with everything that closes its turn, in one statement: the last model call's
 * ledger row and what it adds to the user's total and day, the reply, the turn's reservation given back, and
 * the turn closed, with the turn's last events. It is what `appendTurnEvents` and `finishTurn` with the reply
 * and the charge write, in one round trip instead of eight, and it ends every ordinary turn.
 *
 * Everything hangs off `owned`, the turn row locked while it is still ours: when recovery took the turn, nothing
 * is written and the result is undefined, as `finishTurn` leaves things. The ledger row decides the charge
 * (`on conflict do nothing`), so a call charged already is not added again. A statement may change a row
 * once only, so the day's row gets the charge and the reservation's return in one upsert when both fall on
 * the same day; a reservation from another day (a turn that ran past midnight) is returned by its own update.
 */
export async function closeTurnWithReply(db: Db, reply: ClosingReply): Promise<{ messageId: number } | undefined> {
  const { turnId, owner, userId, charge } = reply;
  const events = reply.events ?? [];
  const day = utcDay(new Date());
  // The thread's lock first, in the same round trip: a question that started on the thread while this turn's
  // reply went in would otherwise get an id below the reply's (its insert waits on the closing turn's row, then
  // goes through), and the thread would read question, question, answer, answer.
  const [, rows] = await queryBatch(db, [
    lockThreadStatement(reply.threadId),
    rawStatement(
      db,
      sql`with owned as (
        select id from ${turns} where id = ${turnId} and owner = ${owner} and status = 'running' for update
      ),
      ${charged(userId, turnId, charge)},
      events as (
        insert into ${turnEvents} (turn_id, seq, round, type, content)
        select ${turnId}, e.seq, e.round, e.type, e.content
        from unnest(${sql.param(events.map((e) => e.seq))}::int[], ${sql.param(events.map((e) => e.round))}::int[],
                    ${sql.param(events.map((e) => e.type))}::text[], ${sql.param(events.map((e) => e.content))}::text[])
             as e(seq, round, type, content)
        where exists (select 1 from owned)
      ),
      usage as (
        insert into ${userUsage} (user_id, total_tokens)
        select ${userId}, total_tokens from charged
        on conflict (user_id) do update set total_tokens = ${userUsage.totalTokens} + excluded.total_tokens, updated_at = now()
        returning 1 as locked
      ),
      released as (
        delete from ${turnReservations} where turn_id = ${turnId} and exists (select 1 from owned)
        returning day, tokens
      ),
      today as (
        insert into ${dailyUsage} (user_id, day, used_tokens)
        -- Reads usage so the user's total is locked before the day's row, the order chargeModelCall locks them
        -- in: the other order deadlocked with a title's charge landing while the thread's next turn closed.
        select ${userId}, ${day}::date, coalesce((select total_tokens from charged), 0) + 0 * (select count(*) from usage)::int
        where exists (select 1 from charged where total_tokens > 0) or exists (select 1 from released where day = ${day}::date)
        on conflict (user_id, day) do update set
          used_tokens = ${dailyUsage.usedTokens} + excluded.used_tokens,
          reserved_tokens = greatest(${dailyUsage.reservedTokens} - coalesce((select sum(tokens) from released where day = ${day}::date), 0), 0),
          updated_at = now()
      ),
      other_day as (
        update ${dailyUsage} set reserved_tokens = greatest(${dailyUsage.reservedTokens} - released.tokens, 0), updated_at = now()
        from released
        where ${dailyUsage.userId} = ${userId} and ${dailyUsage.day} = released.day and released.day <> ${day}::date
      ),
      reply as (
        insert into ${conversations} (user_id, thread_id, role, content, content_tokens, usage_tokens, usage_estimated, finish_reason)
        select ${userId}, ${reply.threadId}, 'assistant', ${reply.content}, ${reply.contentTokens}::int, ${reply.usageTokens}::int,
               ${reply.usageEstimated}::boolean, ${reply.finishReason}
        from owned
        returning id
      ),
      closed as (
        update ${turns} set assistant_message_id = reply.id, status = ${reply.status}, finished_at = now(),
          usage_tokens = ${reply.usageTokens}::int, usage_estimated = ${reply.usageEstimated}::boolean
        from reply
        where ${turns.id} = ${turnId}
        returning ${turns.id}
      )
      select (select id from reply) as message_id from closed`,
    ),
  ]);
  const row = rows?.[0] as { message_id: number | null } | undefined;
  return row?.message_id == null ? undefined : { messageId: row.message_id };
}

/** The `charged` CTE: the ledger row inserted, or no rows when there is nothing to charge or it was charged already. */
function charged(userId: string, turnId: string, charge: ModelCallUsage | null): SQL {
  if (!charge) return sql`charged as (select 0::int as total_tokens where false)`;
  return sql`charged as (
        insert into ${usageLedger} (user_id, turn_id, round, prompt_tokens, completion_tokens, total_tokens, cached_tokens, estimated)
        select ${userId}, ${turnId}, ${charge.round}::int, ${charge.promptTokens}::int, ${charge.completionTokens}::int,
               ${charge.totalTokens}::int, ${charge.cachedTokens}::int, ${charge.estimated}::boolean
        from owned
        on conflict (turn_id, round) do nothing
        returning total_tokens
      )`;
}
