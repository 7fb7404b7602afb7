/**
 * What row-level security costs a turn: the store statements one turn issues, in the engine's order, run
 * through the raw driver and through the user-scoped handle (`rowLevelSecurity(db).forUser`), interleaved in
 * the same run. The ratio scoped ÷ raw is the figure; the target is within 1.15.
 *
 * A turn here: the quota read, the statement that stores the question and starts the turn, the context window
 * and its photos, three batches of streamed events, one model call charged, and the transaction that saves the
 * reply and closes the turn.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../src/db/db';
import { rowLevelSecurity } from '../src/db/row-level-security';
import { attachmentsOfMessages } from '../src/store/attachments';
import { loadContextRows } from '../src/store/context';
import { chargeModelCall, chargedRounds } from '../src/store/ledger';
import { insertAssistantMessageIn } from '../src/store/messages';
import { threadIdFor } from '../src/store/thread-id';
import { appendTurnEvents, finishTurn, startTurnNow } from '../src/store/turns';
import { totalTokens } from '../src/store/usage';

const OWNER = 'bench-owner';
const WARMUP = 20;
const MAX_ITERATIONS = 300;
const TIME_BOX_MS = 6_000;

export interface TurnStatementsResult {
  driver: string;
  raw: number[];
  scoped: number[];
}

async function oneTurn(db: Db, userId: string): Promise<void> {
  const threadId = threadIdFor(userId);
  const turnId = randomUUID();
  await totalTokens(db, userId);
  const question = { userId, threadId, content: 'My dishwasher does not drain', contentTokens: 7 };
  const started = await startTurnNow(
    db,
    { id: turnId, clientMessageId: null, messageHash: 'h', owner: OWNER, leaseMs: 6_000 },
    question,
  );
  if (!started) throw new Error('bench turn did not start');
  const rows = await loadContextRows(db, userId, { maxTokens: 8_000, threadId });
  await attachmentsOfMessages(
    db,
    userId,
    rows.filter((row) => row.role === 'user').map((row) => row.id),
  );
  for (let batch = 0; batch < 3; batch++) {
    await appendTurnEvents(db, turnId, [
      { seq: batch + 1, round: 0, type: 'token', content: 'Check the filter. '.repeat(8) },
    ]);
  }
  await chargeModelCall(db, userId, turnId, {
    round: 0,
    promptTokens: 300,
    completionTokens: 60,
    totalTokens: 360,
    cachedTokens: null,
    estimated: false,
  });
  const closed = await finishTurn(db, turnId, OWNER, async (tx) => {
    const { id } = await insertAssistantMessageIn(tx, userId, {
      threadId,
      content: 'Check the filter. '.repeat(24),
      contentTokens: 96,
      usageTokens: 360,
      usageEstimated: false,
      finishReason: 'stop',
      toolCalls: [],
    });
    const charged = await chargedRounds(tx, turnId);
    return {
      status: 'completed',
      assistantMessageId: id,
      usageTokens: charged.tokens,
      usageEstimated: charged.estimated,
    };
  });
  if (!closed) throw new Error('bench turn did not close');
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Two users, so each path's thread grows alike; raw and scoped alternate, so drift hits both. */
export async function benchTurnStatements(driver: string, db: Db): Promise<TurnStatementsResult> {
  const rawUser = `bench-turn-raw-${randomUUID()}`;
  const scopedUser = `bench-turn-rls-${randomUUID()}`;
  const scoped = rowLevelSecurity(db).forUser(scopedUser);
  const runRaw = () => oneTurn(db, rawUser);
  const runScoped = () => oneTurn(scoped, scopedUser);
  for (let i = 0; i < WARMUP; i++) {
    await runRaw();
    await runScoped();
  }
  const result: TurnStatementsResult = { driver, raw: [], scoped: [] };
  const deadline = performance.now() + TIME_BOX_MS;
  for (let i = 0; i < MAX_ITERATIONS && performance.now() < deadline; i++) {
    // Alternating which goes first, so neither always follows the other's writes.
    if (i % 2 === 0) {
      result.raw.push(await time(runRaw));
      result.scoped.push(await time(runScoped));
    } else {
      result.scoped.push(await time(runScoped));
      result.raw.push(await time(runRaw));
    }
  }
  return result;
}

const median = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

export function printTurnStatements(results: TurnStatementsResult[]): void {
  console.log("\nrow-level security, a turn's store statements (10 statements, 2 of them transactions):");
  console.log('driver    turns  raw median ms  scoped median ms  scoped ÷ raw');
  for (const { driver, raw, scoped } of results) {
    const ratio = median(scoped) / median(raw);
    console.log(
      `${driver.padEnd(8)}  ${String(raw.length).padStart(5)}  ${median(raw).toFixed(3).padStart(13)}  ${median(scoped).toFixed(3).padStart(16)}  ${ratio.toFixed(2).padStart(12)}`,
    );
  }
}
