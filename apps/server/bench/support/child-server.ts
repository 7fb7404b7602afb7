/** Parent side of server-process.ts: fork it (same tsx loader, plus --expose-gc), start a server, read its memory. */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ChildMode, ChildReply, ChildRequest, ServerMemory } from './child-protocol';

export interface ChildServer {
  url: string;
  pid: number;
  /** process.memoryUsage() of the child (with `gc`, after forced full collections) and its longest loop stall since the last call. */
  memory(gc?: boolean): Promise<ServerMemory>;
  /** Starts the child's CPU profiler; stopping writes the profile to `path`. */
  profile(action: 'start' | 'stop', path?: string): Promise<void>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./server-process.ts', import.meta.url));

export async function startChildServer(
  mode: ChildMode,
  env: Record<string, string> = {},
  /** More node flags for the child, e.g. `--cpu-prof`. */
  execArgv: string[] = [],
): Promise<ChildServer> {
  // process.execArgv carries tsx's --require/--import hooks, so the child runs TypeScript the same way.
  const child = fork(ENTRY, [], {
    execArgv: [...process.execArgv, '--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  try {
    const ready = await requestChild<ChildReply>(child, { type: 'start', mode, env });
    if (ready.type !== 'ready') throw new Error('child did not start');
    // One request out at a time (a reply is matched to whatever is waiting), so concurrent callers queue.
    let queue: Promise<unknown> = Promise.resolve();
    const memory = async (gc: boolean): Promise<ServerMemory> => {
      const reply = await requestChild<ChildReply>(child, { type: 'memory', gc });
      if (reply.type !== 'memory') throw new Error('child did not report memory');
      return reply.usage;
    };
    return {
      url: ready.url,
      pid: child.pid ?? -1,
      memory: (gc = true) => {
        const next = queue.then(() => memory(gc));
        queue = next.catch(() => {});
        return next;
      },
      profile: async (action, path) => {
        const next = queue.then(() => requestChild<ChildReply>(child, { type: 'profile', action, ...(path ? { path } : {}) }));
        queue = next.catch(() => {});
        await next;
      },
      stop: async () => {
        if (child.exitCode === null) child.send({ type: 'exit' } satisfies ChildRequest);
        await exited;
      },
    };
  } catch (error) {
    child.kill();
    throw error;
  }
}

/**
 * One request, one reply over the child's IPC channel: callers never have two requests out to the same child
 * (see the queue above). A reply `{ type: 'error', message }` rejects.
 */
export function requestChild<Reply extends { type: string }>(
  child: ChildProcess,
  message: { type: string } & Record<string, unknown>,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: Reply) => {
      cleanup();
      if (reply.type === 'error') reject(new Error(`server child: ${(reply as { message?: string }).message}`));
      else resolve(reply);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(new Error(`server child exited (${signal ?? code}) before answering ${message.type}`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    // With a callback, a channel that closed already rejects this request instead of emitting an 'error' that
    // would end the whole run.
    child.send(message, (error) => {
      if (!error) return;
      cleanup();
      reject(new Error(`server child: could not send ${message.type}: ${error.message}`));
    });
  });
}
