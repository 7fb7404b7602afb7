/** Parent side of baseline-process.ts and ai-sdk-server.ts: fork an entry with the same tsx loader, one request at a time. */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ChatRequestBody } from '@fixthread/testing';
import type { BaselineReply, BaselineRequest } from './baseline-process';
import { requestChild } from './child-server';
import type { LoopWindow } from './closed-loop';

export interface ForkedChild {
  pid: number;
  request<Reply extends { type: string }>(message: { type: string } & Record<string, unknown>): Promise<Reply>;
  stop(): Promise<void>;
}

export function forkEntry(entry: string): ForkedChild {
  const child = fork(fileURLToPath(new URL(entry, import.meta.url)), [], {
    execArgv: [...process.execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  return {
    pid: child.pid ?? -1,
    request: (message) => requestChild(child, message),
    stop: async () => {
      if (child.exitCode === null) child.send({ type: 'exit' });
      await exited;
    },
  };
}

export interface BaselineChild {
  pid: number;
  /** A closed-loop window of baseline-A turns; `cpuMs` is the child's whole-process CPU up to the deadline. */
  run(concurrency: number, ms: number, users: string, body: ChatRequestBody, expected: string): Promise<LoopWindow>;
  stop(): Promise<void>;
}

export async function startBaselineChild(
  start: Omit<Extract<BaselineRequest, { type: 'start' }>, 'type'>,
): Promise<BaselineChild> {
  const child = forkEntry('./baseline-process.ts');
  try {
    await child.request<BaselineReply>({ type: 'start', ...start });
  } catch (error) {
    await child.stop();
    throw error;
  }
  return {
    pid: child.pid,
    run: async (concurrency, ms, users, body, expected) => {
      const reply = await child.request<BaselineReply>({ type: 'run', concurrency, ms, users, body, expected });
      if (reply.type !== 'window') throw new Error('baseline child did not run');
      return { turns: reply.turns, ms: reply.ms, latencies: reply.latencies, reading: reply.cpuMs };
    },
    stop: () => child.stop(),
  };
}
