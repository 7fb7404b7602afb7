/**
 * What row-level security costs a turn: the store statements one turn issues, in the engine's order, run
 * through the raw driver and through the user-scoped handle (`rowLevelSecurity(db).forUser`), interleaved in
 * the same run. The ratio scoped ÷ raw is the figure; the target is within 1.15.
 *
 * A turn here is the engine's for a text question: the quota read, the transaction that stores the question,
 * starts the turn and reads the context window back, the first token's event, and the statement that stores
 * the rest of the events, charges the model call, saves the reply and closes the turn.
 *
 * `benchTurnByThreadLength` runs the same turn, scoped, on a 100,000-message thread and on 100-message ones.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../src/db/db';
import { rowLevelSecurity } from '../src/db/row-level-security';
import { attachmentsOfMessages } from '../src/store/attachments';
import { closeTurnWithReply } from '../src/store/close-turn';
import { threadIdFor } from '../src/store/thread-id';
import { appendTurnEvents, startTurnNow } from '../src/store/turns';
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
  // The question stored and the context window read back in one transaction, as the engine starts a turn.
  const started = await startTurnNow(
    db,
    { id: turnId, clientMessageId: null, messageHash: 'h', owner: OWNER, leaseMs: 6_000 },
    question,
    { maxTokens: 8_000 },
  );
  if (!started?.context?.length) throw new Error('bench turn did not start');
  const photos = started.context.filter((row) => row.hasPhotos).map((row) => row.id);
  if (photos.length > 0) await attachmentsOfMessages(db, userId, photos);
  // The first token's event at once; the rest goes in with the close.
  await appendTurnEvents(db, turnId, [{ seq: 1, round: 0, type: 'token', content: 'Check the filter. ' }]);
  const closed = await closeTurnWithReply(db, {
    turnId,
    owner: OWNER,
    userId,
    threadId,
    content: 'Check the filter. '.repeat(24),
    contentTokens: 96,
    usageTokens: 360,
    usageEstimated: false,
    finishReason: 'stop',
    status: 'completed',
    charge: { round: 0, promptTokens: 300, completionTokens: 60, totalTokens: 360, cachedTokens: null, estimated: false },
    events: [{ seq: 2, round: 0, type: 'token', content: 'Check the filter. '.repeat(23) }],
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
  console.log("\nrow-level security, a turn's store statements (4 round trips: quota, start + context, first event, close):");
  console.log('driver    turns  raw median ms  scoped median ms  scoped ÷ raw');
  for (const { driver, raw, scoped } of results) {
    const ratio = median(scoped) / median(raw);
    console.log(
      `${driver.padEnd(8)}  ${String(raw.length).padStart(5)}  ${median(raw).toFixed(3).padStart(13)}  ${median(scoped).toFixed(3).padStart(16)}  ${ratio.toFixed(2).padStart(12)}`,
    );
  }
}

export interface TurnByLengthResult {
  driver: string;
  long: number[];
  short: number[];
}

/**
 * A whole turn's store statements, scoped as the engine runs them, on the seeded 100,000-message thread
 * (`longUser`) and on threads of 100 messages, interleaved. Each short turn gets a thread of its own, seeded
 * beforehand, so it stays at 100 messages; the long one grows by two a turn, which is nothing at its length.
 */
export async function benchTurnByThreadLength(
  driver: string,
  db: Db,
  longUser: string,
  seed: (userId: string, count: number) => Promise<void>,
): Promise<TurnByLengthResult> {
  const turns = 80;
  const warmup = 10;
  const shortUsers = Array.from({ length: turns + warmup }, () => `bench-turn-short-${randomUUID()}`);
  for (const userId of shortUsers) await seed(userId, 100);
  const scoped = rowLevelSecurity(db);
  const result: TurnByLengthResult = { driver, long: [], short: [] };
  for (const [i, shortUser] of shortUsers.entries()) {
    const long = await time(() => oneTurn(scoped.forUser(longUser), longUser));
    const short = await time(() => oneTurn(scoped.forUser(shortUser), shortUser));
    if (i < warmup) continue;
    result.long.push(long);
    result.short.push(short);
  }
  return result;
}

export function printTurnByThreadLength(results: TurnByLengthResult[]): void {
  console.log("\na turn's store statements (scoped) on a 100,000-message thread ÷ on a 100-message one (target ≤ 1.2):");
  console.log('driver    turns  100 msgs median ms  100k msgs median ms  100k ÷ 100');
  for (const { driver, long, short } of results) {
    console.log(
      `${driver.padEnd(8)}  ${String(long.length).padStart(5)}  ${median(short).toFixed(3).padStart(18)}  ${median(long).toFixed(3).padStart(19)}  ${(median(long) / median(short)).toFixed(2).padStart(10)}`,
    );
  }
}
