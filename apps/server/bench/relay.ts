/**
 * Token relay: how fast one reader receives a turn that the model streams as fast as it can, in many small
 * tokens, through one tRPC WebSocket subscription and through one SSE stream, against a bare `ws` server
 * pushing the same token frames (one `{"type":"token","content":…}` frame per token, as fast as the socket
 * drains) to the same kind of client, in the same run. Also bytes on the wire per token on each.
 *
 * The real server (createServer, in process, PGlite or Postgres) talks to the fake model, which streams
 * RELAY_TOKENS tokens of TOKEN_CHARS characters; each is one `chat.completion.chunk`. The clients parse every
 * frame (JSON) and join the text, and each run checks the text is exactly the reply. A figure is the median of
 * ROUNDS rounds, the three transports interleaved in each round.
 *
 * Run alone: pnpm --filter @fixthread/server exec tsx bench/relay.ts
 */
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TurnEvent } from '@fixthread/core';
import WebSocket, { WebSocketServer } from 'ws';
import { benchDrivers, type BenchDriver } from './support/databases';
import { startInProcessServer } from './support/in-process-server';
import { loadOpenAI, type SdkClient } from './support/openai-sdk';
import { openTrpcSocket } from './support/raw-sockets';
import { devLogin } from './support/server-env';
import { fixed, printTable, sanity, times } from './support/stats';

const RELAY_TOKENS = 20_000;
const TOKEN_CHARS = 4;
const ROUNDS = 5;
/** What the bare server lets `ws` buffer before it waits for the socket to drain. */
const RAW_HIGH_WATER = 64 * 1024;

/** A reply at a real model's pace: every token is stored, and sent, on its own, so each frame carries one. */
const PACED_TOKENS = 400;
const PACED_DELAY_MS = 2;

const replyOf = (tokens: number) => Array.from({ length: tokens }, (_, i) => `w${(i % 100).toString().padStart(2, '0')} `).join('');
const RELAY_REPLY = replyOf(RELAY_TOKENS);
const PACED_REPLY = replyOf(PACED_TOKENS);
sanity(RELAY_REPLY.length === RELAY_TOKENS * TOKEN_CHARS, 'relay tokens must be TOKEN_CHARS long');

export interface RelayRun {
  /** Model tokens per second, from the request to the turn's end on the client. */
  tokensPerSecond: number;
  /** Bytes the client's socket read over the stream, per token. */
  bytesPerToken: number;
  /** Frames (WebSocket messages or SSE events) carrying tokens, per token. */
  framesPerToken: number;
  /** CPU of the whole bench process per token: compare runs of one transport, not transports. */
  cpuMicrosPerToken: number;
}

export interface RelayResult {
  driver: string;
  raw: RelayRun;
  /** A bare `ws` server sending a frame per delta as the openai SDK reads the same reply from the fake model. */
  rawSdk: RelayRun;
  trpc: RelayRun;
  sse: RelayRun;
  /** At a model's pace (PACED_DELAY_MS a token): what each frame costs on the wire. */
  paced: { trpc: RelayRun; sse: RelayRun };
}

interface Received {
  text: string;
  tokenFrames: number;
  bytes: number;
  seconds: number;
  /** CPU this process (server, fake model and client) spent over the stream. */
  cpuMicros: number;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

const runOf = (received: Received, tokens = RELAY_TOKENS): RelayRun => ({
  tokensPerSecond: tokens / received.seconds,
  bytesPerToken: received.bytes / tokens,
  framesPerToken: received.tokenFrames / tokens,
  cpuMicrosPerToken: received.cpuMicros / tokens,
});

function checkText(transport: string, received: Received, reply = RELAY_REPLY): void {
  sanity(received.text === reply, `${transport} relayed ${received.text.length} characters, not the ${reply.length} of the reply`);
}

function textOf(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data))).toString('utf8');
}

const bytesReadOf = (socket: WebSocket) => (socket as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;

/** The baseline: a bare `ws` server that pushes the reply's token frames to whoever sends `go`. */
async function startRawRelay(): Promise<{ url: string; close(): Promise<void> }> {
  const frames = Array.from({ length: RELAY_TOKENS }, (_, i) =>
    JSON.stringify({ type: 'token', content: RELAY_REPLY.slice(i * TOKEN_CHARS, (i + 1) * TOKEN_CHARS) }),
  );
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  server.on('connection', (socket) => {
    const tcp = (socket as unknown as { _socket: NodeJS.WritableStream })._socket;
    const push = async () => {
      for (const frame of frames) {
        socket.send(frame);
        if (socket.bufferedAmount > RAW_HIGH_WATER) await once(tcp, 'drain');
      }
      socket.send(JSON.stringify({ type: 'done' }));
    };
    socket.on('message', () => void push().catch(() => socket.terminate()));
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The second baseline: the same bare server, its frames read from the fake model through the openai SDK as
 * they stream, so the ratio to it is what FixThread adds (storing, the turn log, tRPC or SSE) to the model I/O.
 */
async function startSdkRelay(openai: SdkClient): Promise<{ url: string; close(): Promise<void> }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  server.on('connection', (socket) => {
    const tcp = (socket as unknown as { _socket: NodeJS.WritableStream })._socket;
    const push = async () => {
      const stream = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'relay over the bare SDK' }],
        stream: true,
      });
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta?.content;
        if (!content) continue;
        socket.send(JSON.stringify({ type: 'token', content }));
        if (socket.bufferedAmount > RAW_HIGH_WATER) await once(tcp, 'drain');
      }
      socket.send(JSON.stringify({ type: 'done' }));
    };
    socket.on('message', () => void push().catch(() => socket.terminate()));
  });
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function relayOverRaw(url: string): Promise<Received> {
  const socket = new WebSocket(url);
  await once(socket, 'open');
  const pieces: string[] = [];
  let tokenFrames = 0;
  const bytesBefore = bytesReadOf(socket);
  const start = performance.now();
  const cpuBefore = cpuNow();
  await new Promise<void>((resolve) => {
    socket.on('message', (data) => {
      const event = JSON.parse(textOf(data)) as { type: string; content?: string };
      if (event.type === 'done') return resolve();
      tokenFrames++;
      pieces.push(event.content ?? '');
    });
    socket.send('go');
  });
  const seconds = (performance.now() - start) / 1000;
  const cpuMicros = cpuNow() - cpuBefore;
  const bytes = bytesReadOf(socket) - bytesBefore;
  socket.terminate();
  return { text: pieces.join(''), tokenFrames, bytes, seconds, cpuMicros };
}

interface TrpcFrame {
  id?: number;
  result?: { type: 'started' | 'data' | 'stopped'; data?: { id: string; data: TurnEvent } };
  error?: { message: string };
}

async function relayOverTrpc(baseUrl: string, token: string, userId: string, message: string): Promise<Received> {
  const socket = await openTrpcSocket(baseUrl, token, userId);
  const pieces: string[] = [];
  let tokenFrames = 0;
  const bytesBefore = bytesReadOf(socket);
  const start = performance.now();
  const cpuBefore = cpuNow();
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const text = textOf(data);
      if (text === 'PING' || text === 'PONG') return;
      const frame = JSON.parse(text) as TrpcFrame;
      if (frame.id !== 1) return;
      if (frame.error) return reject(new Error(`chat.stream failed: ${frame.error.message}`));
      if (frame.result?.type === 'stopped') return resolve();
      const event = frame.result?.data?.data;
      if (event?.type !== 'token') return;
      tokenFrames++;
      pieces.push(event.content);
    });
    socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'chat.stream', input: { message } } }));
  });
  const seconds = (performance.now() - start) / 1000;
  const cpuMicros = cpuNow() - cpuBefore;
  const bytes = bytesReadOf(socket) - bytesBefore;
  socket.terminate();
  return { text: pieces.join(''), tokenFrames, bytes, seconds, cpuMicros };
}

async function relayOverSse(baseUrl: string, token: string, message: string): Promise<Received> {
  const body = JSON.stringify({ message });
  const start = performance.now();
  const cpuBefore = cpuNow();
  const req = httpRequest(`${baseUrl}/chat/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  req.end(body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  sanity(res.statusCode === 200, `POST /chat/stream answered ${res.statusCode}`);
  const pieces: string[] = [];
  let tokenFrames = 0;
  let buffered = '';
  res.setEncoding('utf8');
  for await (const chunk of res as AsyncIterable<string>) {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const dataLine = block.split('\n').find((line) => line.startsWith('data: '));
      if (!dataLine) continue;
      const event = JSON.parse(dataLine.slice(6)) as TurnEvent;
      if (event.type !== 'token') continue;
      tokenFrames++;
      pieces.push(event.content);
    }
  }
  const seconds = (performance.now() - start) / 1000;
  const cpuMicros = cpuNow() - cpuBefore;
  return { text: pieces.join(''), tokenFrames, bytes: res.socket?.bytesRead ?? Number.NaN, seconds, cpuMicros };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function medianRun(runs: RelayRun[]): RelayRun {
  return {
    tokensPerSecond: median(runs.map((r) => r.tokensPerSecond)),
    bytesPerToken: median(runs.map((r) => r.bytesPerToken)),
    framesPerToken: median(runs.map((r) => r.framesPerToken)),
    cpuMicrosPerToken: median(runs.map((r) => r.cpuMicrosPerToken)),
  };
}

export async function measureRelay(driver: BenchDriver, rounds = ROUNDS): Promise<RelayResult> {
  const server = await startInProcessServer(driver);
  const raw = await startRawRelay();
  const OpenAI = await loadOpenAI();
  const sdkRelay = await startSdkRelay(new OpenAI({ apiKey: 'bench-key', baseURL: server.model.openai.baseURL, maxRetries: 0 }));
  server.model.openai.setResponder(() => ({ text: RELAY_REPLY, chunkSize: TOKEN_CHARS }));
  try {
    const runs: Record<'raw' | 'rawSdk' | 'trpc' | 'sse', RelayRun[]> = { raw: [], rawSdk: [], trpc: [], sse: [] };
    // Round 0 warms the JIT and the database up and is not counted.
    for (let round = 0; round <= rounds; round++) {
      const userId = `relay-${round}`;
      const token = await devLogin(server.url, userId);
      const rawRun = await relayOverRaw(raw.url);
      checkText('raw ws', rawRun);
      const rawSdkRun = await relayOverRaw(sdkRelay.url);
      checkText('raw ws + SDK', rawSdkRun);
      const trpcRun = await relayOverTrpc(server.url, token, userId, `relay over tRPC ${round}`);
      checkText('tRPC WS', trpcRun);
      const sseRun = await relayOverSse(server.url, token, `relay over SSE ${round}`);
      checkText('SSE', sseRun);
      if (round === 0) continue;
      runs.raw.push(runOf(rawRun));
      runs.rawSdk.push(runOf(rawSdkRun));
      runs.trpc.push(runOf(trpcRun));
      runs.sse.push(runOf(sseRun));
    }
    server.model.openai.setResponder(() => ({ text: PACED_REPLY, chunkSize: TOKEN_CHARS, delayMsBetweenChunks: PACED_DELAY_MS }));
    const token = await devLogin(server.url, 'relay-paced');
    const pacedTrpc = await relayOverTrpc(server.url, token, 'relay-paced', 'paced relay over tRPC');
    checkText('paced tRPC WS', pacedTrpc, PACED_REPLY);
    const pacedSse = await relayOverSse(server.url, token, 'paced relay over SSE');
    checkText('paced SSE', pacedSse, PACED_REPLY);
    return {
      driver: driver.name,
      raw: medianRun(runs.raw),
      rawSdk: medianRun(runs.rawSdk),
      trpc: medianRun(runs.trpc),
      sse: medianRun(runs.sse),
      paced: { trpc: runOf(pacedTrpc, PACED_TOKENS), sse: runOf(pacedSse, PACED_TOKENS) },
    };
  } finally {
    await raw.close();
    await sdkRelay.close();
    await server.close();
  }
}

export function reportRelay(results: RelayResult[]): void {
  console.log(
    `\nToken relay: one reader, ${RELAY_TOKENS} tokens of ${TOKEN_CHARS} characters streamed as fast as the model can; median of ${ROUNDS} rounds`,
  );
  const rows: string[][] = [];
  for (const result of results) {
    const row = (name: string, run: RelayRun, target: string) => [
      result.driver,
      name,
      fixed(run.tokensPerSecond / 1000, 1),
      times(run.tokensPerSecond / result.raw.tokensPerSecond),
      target,
      times(run.tokensPerSecond / result.rawSdk.tokensPerSecond),
      fixed(run.bytesPerToken, 1),
      fixed(run.framesPerToken, 3),
    ];
    rows.push(
      row('raw ws', result.raw, ''),
      row('raw ws + SDK', result.rawSdk, ''),
      row('tRPC WS', result.trpc, '≥ 0.6×'),
      row('SSE', result.sse, '≥ 0.8×'),
    );
  }
  printTable(['db', 'transport', 'k tokens/s', '÷ raw ws', 'target', '÷ raw ws + SDK', 'B/token', 'frames/token'], rows);
  console.log(`\nAt a model's pace (${PACED_TOKENS} tokens, one every ${PACED_DELAY_MS} ms): the wire cost of a frame`);
  const paced: string[][] = [];
  for (const result of results) {
    for (const [name, run] of [['tRPC WS', result.paced.trpc], ['SSE', result.paced.sse]] as const) {
      paced.push([result.driver, name, fixed(run.bytesPerToken, 1), fixed(run.framesPerToken, 3), fixed(run.cpuMicrosPerToken, 0)]);
    }
    paced.push([result.driver, 'raw ws', fixed(result.raw.bytesPerToken, 1), fixed(result.raw.framesPerToken, 3), '']);
  }
  printTable(['db', 'transport', 'B/token', 'frames/token', 'bench CPU µs/token'], paced);
}

async function main(): Promise<void> {
  const results: RelayResult[] = [];
  for (const driver of benchDrivers()) results.push(await measureRelay(driver));
  reportRelay(results);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
