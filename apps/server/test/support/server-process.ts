import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { workspaceRoot } from '../../src/workspace-root';

const root = workspaceRoot();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A server started from the production bundle, as `pnpm start` runs it, in a process of its own. */
export interface Started {
  child: ChildProcess;
  url: string;
  logs: string[];
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exited: Promise<void>;
}

/** `pnpm start` runs the bundle from the repository root; so does this. Resolves once /health answers 200. */
export async function startBundle(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['apps/server/dist/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server: Started = { child, url: '', logs: [], exit: undefined, exited: undefined! };
  server.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      server.exit = { code, signal };
      resolve();
    }),
  );
  createInterface({ input: child.stderr }).on('line', (line) => server.logs.push(`[stderr] ${line}`));
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      server.logs.push(line);
      const url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
      if (url) resolve(url);
    });
    void server.exited.then(() =>
      reject(
        new Error(`server exited at start (${JSON.stringify(server.exit)}):\n${server.logs.join('\n')}`),
      ),
    );
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`server not listening after 45 s:\n${server.logs.join('\n')}`)),
      45_000,
    );
  });
  try {
    server.url = await Promise.race([listening, timeout]);
  } finally {
    clearTimeout(timer);
  }
  for (const deadline = Date.now() + 15_000; ; await sleep(100)) {
    const status = await fetch(`${server.url}/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return server;
    if (Date.now() > deadline) throw new Error(`server not healthy after 15 s:\n${server.logs.join('\n')}`);
  }
}

export async function kill(server: Started | undefined): Promise<void> {
  if (!server || server.exit) return;
  server.child.kill('SIGKILL');
  await server.exited;
}

