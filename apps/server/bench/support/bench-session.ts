/**
 * What parts 8, 9, 12 and 13 share per driver: the fake model here, the real server in a child process
 * (support/server-process.ts), baseline A in another (baseline-process.ts) and, on Postgres, the AI SDK peer
 * in a third, each process alone with its own CPU, and the clients of every transport, signed in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import type { ChatRequestBody, FakeReply } from '@fixthread/testing';
import { startBaselineChild, type BaselineChild } from './baseline-child';
import { startChildServer, type ChildServer } from './child-server';
import { checkTurn, streamOverSse } from './clients';
import type { BenchDriver } from './databases';
import { SHORT_REPLY, startFakeModel, type FakeModel } from './fake-model';
import { startPeerServer, type PeerServer } from './peer-server';
import { closeSockets, openTrpcSocket, subscribeChatStream } from './raw-sockets';
import { benchEnv, devLogin, LOADED_MACHINE } from './server-env';
import { eachLimited, sanity } from './stats';

/** Messages starting with this get LONG_REPLY (part 13's marginal bytes per token). */
export const LONG_PREFIX = 'long reply please:';
export const LONG_REPLY = Array.from({ length: 5 }, () => SHORT_REPLY).join(' ');
/** Messages starting with this are streamed one token every PACED_MS, as a real model streams (no coalescing). */
export const PACED_PREFIX = 'paced:';
export const PACED_MS = 3;

function route(message: string): FakeReply | undefined {
  const paced = message.startsWith(PACED_PREFIX);
  const rest = paced ? message.slice(PACED_PREFIX.length) : message;
  const text = rest.startsWith(LONG_PREFIX) ? LONG_REPLY : paced ? SHORT_REPLY : undefined;
  if (!text) return undefined;
  return paced ? { text, delayMsBetweenChunks: PACED_MS } : { text };
}

export interface BenchSession {
  driver: string;
  model: FakeModel;
  server: ChildServer;
  baseline: BaselineChild;
  peer: PeerServer | undefined;
  /** Signed-in users of one transport: ids `${prefix}-${i}` and their tokens. */
  users(prefix: string, count: number): Promise<Array<{ id: string; token: string }>>;
  /** tRPC sockets, one per user, authenticated. */
  sockets(prefix: string, count: number): Promise<WebSocket[]>;
  /** The request the server last sent the model, for the baselines to replay. */
  body(): ChatRequestBody;
  close(): Promise<void>;
}

export interface SessionOptions {
  withPeer: boolean;
  /** More node flags for the server child (`--cpu-prof`). */
  serverExecArgv?: string[];
}

export async function startBenchSession(driver: BenchDriver, options: SessionOptions): Promise<BenchSession> {
  const cleanups: Array<() => Promise<void>> = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-bench-session-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const run = async <T>(start: () => Promise<T>, stop: (value: T) => Promise<void>): Promise<T> => {
    const value = await start();
    cleanups.unshift(() => stop(value));
    return value;
  };
  const close = async () => {
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => console.error(error));
  };
  try {
    const model = await run(
      () => startFakeModel(route),
      (m) => m.openai.close(),
    );
    const database = await run(() => driver.forChild(), (d) => d.close());
    const env = benchEnv({
      openaiBaseUrl: model.openai.baseURL,
      dataDir,
      extra: { ...database.env, ...LOADED_MACHINE, THREAD_TITLES: 'heuristic' },
    });
    const server = await run(() => startChildServer('fixthread', env, options.serverExecArgv), (s) => s.stop());
    const baseline = await run(
      () =>
        startBaselineChild({
          openaiBaseUrl: model.openai.baseURL,
          ...(database.env.DATABASE_URL
            ? { databaseUrl: database.env.DATABASE_URL }
            : { pgliteDir: join(dataDir, 'baseline-pglite') }),
        }),
      (b) => b.stop(),
    );
    const signedIn = new Map<string, Array<{ id: string; token: string }>>();
    const users = async (prefix: string, count: number) => {
      const have = signedIn.get(prefix) ?? [];
      for (let i = have.length; i < count; i++) {
        const id = `${prefix}-${i}`;
        have.push({ id, token: await devLogin(server.url, id) });
      }
      signedIn.set(prefix, have);
      return have.slice(0, count);
    };
    const opened = new Map<string, WebSocket[]>();
    const sockets = async (prefix: string, count: number) => {
      const have = opened.get(prefix) ?? [];
      const more = (await users(prefix, count)).slice(have.length);
      await eachLimited(more, 25, async (user) => {
        have.push(await openTrpcSocket(server.url, user.token, user.id));
      });
      opened.set(prefix, have);
      return have.slice(0, count);
    };
    cleanups.unshift(async () => closeSockets([...opened.values()].flat()));
    // The baselines replay the server's request, so the server answers first; one turn per transport warms both.
    const [warm] = await users('warm', 1);
    checkTurn(await streamOverSse(server.url, warm!.token, 'warm-up'), SHORT_REPLY, 'warm-up SSE');
    const [socket] = await sockets('warm-ws', 1);
    sanity((await subscribeChatStream(socket!, 1, 'warm-up')).text === SHORT_REPLY, 'warm-up tRPC turn');
    const body = () => model.latestBody();
    const peer =
      options.withPeer && database.env.DATABASE_URL
        ? await run(
            () =>
              startPeerServer({
                databaseUrl: database.env.DATABASE_URL!,
                openaiBaseUrl: model.openai.baseURL,
                model: body().model,
                system: systemPromptOf(body()),
              }),
            (p) => p.stop(),
          )
        : undefined;
    return { driver: driver.name, model, server, baseline, peer, users, sockets, body, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function systemPromptOf(body: ChatRequestBody): string {
  const system = body.messages.find((m) => m.role === 'system');
  return typeof system?.content === 'string' ? system.content : '';
}
