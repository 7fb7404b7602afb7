/**
 * Child-process entry for baseline A (forked by baseline-child.ts): the turn's SQL through the raw driver plus
 * the openai SDK (support/turn-sql.ts), in a process of its own like the server it is compared with, so its
 * whole-process CPU per turn is read the same way. The fake model and the load generator stay in the parent.
 */
import { openDatabase, type Database } from '@fixthread/core';
import type { ChatRequestBody } from '@fixthread/testing';
import { ownCpuMs, runClosedLoop, type LoopWindow } from './closed-loop';
import { rawDbOf, type RawDb } from './databases';
import { loadOpenAI, sdkClient, type SdkClient } from './openai-sdk';
import { baselineTurn } from './turn-sql';

export type BaselineRequest =
  | { type: 'start'; databaseUrl?: string; pgliteDir?: string; openaiBaseUrl: string }
  | { type: 'run'; concurrency: number; ms: number; users: string; body: ChatRequestBody; expected: string }
  | { type: 'exit' };

export type BaselineReply =
  | { type: 'ready' }
  | ({ type: 'window'; cpuMs: number } & Omit<LoopWindow, 'reading'>)
  | { type: 'error'; message: string };

let database: Database | undefined;
let raw: RawDb | undefined;
let sdk: SdkClient | undefined;

async function run(request: Extract<BaselineRequest, { type: 'run' }>): Promise<BaselineReply> {
  if (!raw || !sdk) throw new Error('baseline child not started');
  const [db, client] = [raw, sdk];
  const window = await runClosedLoop(
    request.concurrency,
    request.ms,
    async (user, n) => {
      const text = await baselineTurn(db, client, request.body, `${request.users}-${user}`, `The dishwasher will not drain (${n})`);
      if (text !== request.expected) throw new Error('baseline turn streamed a different reply');
    },
    ownCpuMs,
  );
  return { type: 'window', turns: window.turns, ms: window.ms, latencies: window.latencies, cpuMs: window.reading };
}

process.on('message', (message: BaselineRequest) => {
  const handle = async (): Promise<BaselineReply> => {
    if (message.type === 'start') {
      database = await openDatabase(
        message.databaseUrl ? { databaseUrl: message.databaseUrl, migrate: false } : { pgliteDir: message.pgliteDir },
      );
      raw = rawDbOf(database);
      sdk = sdkClient(await loadOpenAI(), message.openaiBaseUrl);
      return { type: 'ready' };
    }
    if (message.type === 'run') return run(message);
    await database?.close();
    process.exit(0);
  };
  handle()
    .then((reply) => process.send?.(reply))
    .catch((error: unknown) => {
      process.send?.({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    });
});
process.on('disconnect', () => process.exit(0));
