/**
 * Child-process entry (forked by child-server.ts) so a server's memory can be read apart from the clients and
 * fakes driving it. `fixthread` boots the real server with createServer from the env it is sent (dev auth,
 * its own database); `bare-ws` is a plain `ws` WebSocketServer that echoes every message, the baseline for
 * memory per connection. Memory is reported over IPC (after forced GCs when asked), with the longest
 * event-loop stall since the previous report.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { WebSocketServer, type WebSocket } from 'ws';
import { createServer } from '../../src/create-server';
import { loadEnv } from '../../src/env';
import type { ChildReply, ChildRequest, ServerMemory } from './child-protocol';

function gcFunction(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  // Fallback when the process was started without --expose-gc.
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const gc = gcFunction();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

async function memory(settle: boolean): Promise<ServerMemory> {
  const loopDelayMaxMs = loopDelay.max / 1e6;
  for (let i = 0; settle && i < 4; i++) {
    gc();
    await nextTurn();
  }
  const usage = process.memoryUsage();
  loopDelay.reset(); // after the forced GCs, whose pauses are the bench's own
  return { ...usage, loopDelayMaxMs };
}

function send(reply: ChildReply): void {
  process.send?.(reply);
}

/** Pushes `frames` to the socket one every `intervalMs`, as a streamed reply arrives. */
function pushFrames(socket: WebSocket, frames: string[], intervalMs: number): void {
  let next = 0;
  const timer = setInterval(() => {
    if (socket.readyState !== socket.OPEN || next >= frames.length) {
      clearInterval(timer);
      return;
    }
    socket.send(frames[next++]!);
  }, intervalMs);
}

async function start(request: Extract<ChildRequest, { type: 'start' }>): Promise<string> {
  if (request.mode === 'bare-ws' || request.mode === 'bare-ws-stream') {
    const frames = request.mode === 'bare-ws-stream' ? (JSON.parse(request.env.FRAMES ?? '[]') as string[]) : [];
    const intervalMs = Number(request.env.FRAME_INTERVAL_MS ?? 0);
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 });
    wss.on('connection', (socket) =>
      socket.on('message', (data, isBinary) => {
        const text = Buffer.isBuffer(data) ? data.toString('utf8') : '';
        if (frames.length > 0 && text.includes('"method":"subscription"')) pushFrames(socket, frames, intervalMs);
        else socket.send(data, { binary: isBinary });
      }),
    );
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const address = wss.address();
    if (!address || typeof address === 'string') throw new Error('ws server has no TCP address');
    return `http://127.0.0.1:${address.port}`;
  }
  const server = await createServer({ env: loadEnv(request.env) });
  return server.start();
}

const inspector = new Session();

/** The profiler runs only while the bench asks, so start-up (module loading) stays out of the profile. */
async function profile(request: Extract<ChildRequest, { type: 'profile' }>): Promise<void> {
  if (request.action === 'start') {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
    await inspector.post('Profiler.start');
    return;
  }
  const { profile: result } = await inspector.post('Profiler.stop');
  writeFileSync(request.path ?? 'server.cpuprofile', JSON.stringify(result));
  inspector.disconnect();
}

process.on('message', (message: ChildRequest) => {
  const handle = async () => {
    if (message.type === 'start') send({ type: 'ready', url: await start(message) });
    else if (message.type === 'profile') {
      await profile(message);
      send({ type: 'profiled' });
    }
    else if (message.type === 'memory') send({ type: 'memory', usage: await memory(message.gc) });
    else process.exit(0); // 'exit': no graceful stop, turns left hanging on the fake model are meant to die here
  };
  handle().catch((error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  });
});
process.on('disconnect', () => process.exit(0));
