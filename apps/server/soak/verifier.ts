import type { DoneEvent } from '@fixthread/core';
import type { Db } from '@fixthread/core/db';
import {
  conversations,
  turns,
  usageLedger,
  userUsage,
  type ConversationRow,
  type TurnRow,
} from '@fixthread/core/schema';
import { asc, sql } from 'drizzle-orm';
import { expectedReply, parseQuestion } from './fake-model';
import { acksOf, type Attempt, type SendRecord } from './send-record';

export interface LedgerCheck {
  user: string;
  ledger: number;
  usage: number;
}

/** What the database holds, checked against every acknowledgement the clients received. */
export interface Verdict {
  turnsByStatus: Record<string, number>;
  /** An acknowledged question or answer missing, or a completed answer stored short. */
  lost: string[];
  /** A question stored twice, a turn per key twice, an answer nobody's turn names, or a question nobody asked. */
  duplicated: string[];
  /** A thread not in strict question/answer alternation, or an answer to another turn's question. */
  interleavings: string[];
  /** An acknowledgement (a 200's response, a `done` and its text) that differs from what is stored. */
  mismatched: string[];
  /** Turns still queued or running once everything settled. */
  unfinished: string[];
  ledger: LedgerCheck[];
}

const userKey = (user: string, key: string) => `${user}\u0000${key}`;
const brief = (text: string) => (text.length > 80 ? `${text.slice(0, 40)}…${text.slice(-30)}` : text);

/** Waits until no turn is queued or running (dead instances' leases lapse and are recovered); false on timeout. */
export async function waitForSettled(db: Db, timeoutMs: number): Promise<boolean> {
  for (
    const deadline = Date.now() + timeoutMs;
    Date.now() < deadline;
    await new Promise((r) => setTimeout(r, 500))
  ) {
    const [row] = await db
      .select({ live: sql<number>`count(*)::int` })
      .from(turns)
      .where(sql`${turns.status} in ('queued', 'running')`);
    if (row?.live === 0) return true;
  }
  return false;
}

export async function verify(
  db: Db,
  records: readonly SendRecord[],
  users: readonly string[],
): Promise<Verdict> {
  const rows = await db.select().from(conversations).orderBy(asc(conversations.id));
  const turnRows = await db.select().from(turns);
  const ledgerRows = await db
    .select({
      user: usageLedger.userId,
      total: sql<number>`coalesce(sum(${usageLedger.totalTokens}), 0)::int`,
    })
    .from(usageLedger)
    .groupBy(usageLedger.userId);
  const usageRows = await db.select().from(userUsage);
  const verdict: Verdict = {
    turnsByStatus: {},
    lost: [],
    duplicated: [],
    interleavings: [],
    mismatched: [],
    unfinished: [],
    ledger: [],
  };
  for (const turn of turnRows)
    verdict.turnsByStatus[turn.status] = (verdict.turnsByStatus[turn.status] ?? 0) + 1;
  verdict.unfinished = turnRows
    .filter((t) => t.status === 'queued' || t.status === 'running')
    .map((t) => `${t.clientMessageId}: ${t.status}`);
  checkRecords(verdict, records, rows, turnRows);
  checkThreads(verdict, rows, turnRows);
  const ledger = new Map(ledgerRows.map((row) => [row.user, row.total]));
  const usage = new Map(usageRows.map((row) => [row.userId, row.totalTokens ?? 0]));
  for (const user of new Set([...users, ...ledger.keys(), ...usage.keys()])) {
    verdict.ledger.push({ user, ledger: ledger.get(user) ?? 0, usage: usage.get(user) ?? 0 });
  }
  return verdict;
}

function checkRecords(
  verdict: Verdict,
  records: readonly SendRecord[],
  rows: ConversationRow[],
  turnRows: TurnRow[],
): void {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const questionsByText = new Map<string, ConversationRow[]>();
  for (const row of rows.filter((r) => r.role === 'user')) {
    questionsByText.set(userKey(row.userId, row.content), [
      ...(questionsByText.get(userKey(row.userId, row.content)) ?? []),
      row,
    ]);
  }
  const turnByKey = new Map(turnRows.map((turn) => [userKey(turn.userId, turn.clientMessageId ?? ''), turn]));
  const asked = new Set(records.map((record) => userKey(record.user, record.question.message)));
  for (const [text, stored] of questionsByText) {
    if (!asked.has(text))
      verdict.duplicated.push(`a stored question nobody asked: ${brief(stored[0]!.content)}`);
  }
  const answerOwners = new Map<number, number>();
  for (const turn of turnRows) {
    if (turn.assistantMessageId !== null)
      answerOwners.set(turn.assistantMessageId, (answerOwners.get(turn.assistantMessageId) ?? 0) + 1);
  }
  for (const row of rows.filter((r) => r.role === 'assistant')) {
    const owners = answerOwners.get(row.id) ?? 0;
    if (owners !== 1) verdict.duplicated.push(`answer #${row.id} is named by ${owners} turns`);
  }

  for (const record of records) {
    const { key, message } = record.question;
    const stored = questionsByText.get(userKey(record.user, message)) ?? [];
    if (stored.length > 1) verdict.duplicated.push(`${key}: the question is stored ${stored.length} times`);
    const acks = acksOf(record);
    if (acks.length === 0) continue;
    const turn = turnByKey.get(userKey(record.user, key));
    const via = acks.map((a) => `${a.transport}${a.kind === 'send' ? '' : ` ${a.kind}`}`).join(', ');
    if (!turn || stored.length === 0) {
      verdict.lost.push(`${key}: acknowledged (${via}) but ${turn ? 'no question' : 'no turn'} is stored`);
      continue;
    }
    if (turn.userMessageId !== stored[0]!.id) {
      verdict.lost.push(
        `${key}: the turn names question #${turn.userMessageId}, the stored one is #${stored[0]!.id}`,
      );
    }
    const answer = turn.assistantMessageId === null ? undefined : byId.get(turn.assistantMessageId);
    if (!answer) {
      verdict.lost.push(`${key}: acknowledged (${via}) but no answer is stored (turn ${turn.status})`);
      continue;
    }
    const full = expectedReply(record.question);
    if (turn.status === 'completed' && answer.content !== full) {
      verdict.lost.push(`${key}: completed, but the stored answer is ${brief(answer.content)}`);
    }
    for (const ack of acks) checkAck(verdict, key, ack, turn, answer);
  }
}

function checkAck(verdict: Verdict, key: string, ack: Attempt, turn: TurnRow, answer: ConversationRow): void {
  const via = `${ack.transport}${ack.kind === 'send' ? '' : ` ${ack.kind}`} on ${ack.instance}`;
  if (ack.text !== answer.content) {
    verdict.mismatched.push(
      `${key} (${via}): got ${JSON.stringify(brief(ack.text))}, stored ${JSON.stringify(brief(answer.content))}`,
    );
  }
  if (!ack.done) return;
  const expected: Partial<DoneEvent> = {
    turn_id: turn.id,
    user_message_id: turn.userMessageId ?? 0,
    message_id: answer.id,
    stopped: turn.status === 'stopped',
    interrupted: turn.status === 'interrupted',
  };
  for (const [field, value] of Object.entries(expected)) {
    const got = ack.done[field as keyof DoneEvent];
    if (got !== value)
      verdict.mismatched.push(
        `${key} (${via}): done.${field} is ${JSON.stringify(got)}, stored ${JSON.stringify(value)}`,
      );
  }
}

/**
 * Each thread, in id order, must read question, its answer, question, its answer…; a failed turn's question
 * has no answer, so another question follows it. Each answer must be (a prefix of) the answer to the question
 * just before it: the fake model answers the last question in its context, so an answer to any other question
 * means the turns ran interleaved.
 */
function checkThreads(verdict: Verdict, rows: ConversationRow[], turnRows: TurnRow[]): void {
  const turnByQuestion = new Map(
    turnRows.filter((t) => t.userMessageId !== null).map((t) => [t.userMessageId!, t]),
  );
  const threads = new Map<string, ConversationRow[]>();
  for (const row of rows) threads.set(row.threadId, [...(threads.get(row.threadId) ?? []), row]);
  for (const [threadId, thread] of threads) {
    thread.forEach((row, i) => {
      const previous = thread[i - 1];
      const next = thread[i + 1];
      if (row.role === 'user') {
        const turn = turnByQuestion.get(row.id);
        if (!turn) {
          verdict.interleavings.push(`${threadId}: question #${row.id} belongs to no turn`);
        } else if (turn.assistantMessageId !== null && next?.id !== turn.assistantMessageId) {
          verdict.interleavings.push(
            `${threadId}: #${next?.id} comes between question #${row.id} and its answer #${turn.assistantMessageId}`,
          );
        } else if (turn.assistantMessageId === null && next?.role === 'assistant') {
          verdict.interleavings.push(
            `${threadId}: answer #${next.id} follows question #${row.id}, whose turn ${turn.status} without one`,
          );
        }
        return;
      }
      if (previous?.role !== 'user') {
        verdict.interleavings.push(
          `${threadId}: answer #${row.id} follows ${previous ? `answer #${previous.id}` : 'nothing'}`,
        );
        return;
      }
      const question = parseQuestion(previous.content);
      if (!question || !expectedReply(question).startsWith(row.content)) {
        verdict.interleavings.push(
          `${threadId}: answer #${row.id} (${brief(row.content)}) does not answer question #${previous.id}`,
        );
      }
    });
  }
}
