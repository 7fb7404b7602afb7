import { once } from 'node:events';
import type { Socket } from 'node:net';
import { parseEventId, type TurnEvent } from '@fixthread/core';
import { testDrivers } from '@fixthread/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startHarness, type Harness } from './support/harness';

/**
 * A reply far larger than what loopback's kernel buffers take from a reader that is not reading (a few MiB),
 * at a model's pace: stored, and published, a token at a time, so without coalescing every token would be a
 * frame of its own.
 */
const TOKENS = 1_500;
const TOKEN_CHARS = 8_192;
const BIG_REPLY = Array.from({ length: TOKENS }, (_, i) => `${i} `.padEnd(TOKEN_CHARS, 'x')).join('');

interface TrpcFrame {
  id?: number;
  result?: { type: 'started' | 'data' | 'stopped'; id?: string; data?: { id: string; data: TurnEvent } };
  error?: { message: string };
}

interface Received {
  ids: string[];
  /** What each frame's token said, '' for other events, by index of `ids`. */
  contents: string[];
  tokenFrames: number;
  text: string;
  done: boolean;
}

const textOf = (data: WebSocket.RawData) => (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)).toString('utf8');

async function openTrpcSocket(url: string, token: string): Promise<WebSocket> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/trpc?connectionParams=1`);
  await once(socket, 'open');
  socket.send(JSON.stringify({ method: 'connectionParams', data: { token } }));
  return socket;
}

/** Subscribes to chat.stream with the raw protocol and collects every frame until tRPC's `stopped`. */
function subscribe(socket: WebSocket, input: Record<string, unknown>): Promise<Received> {
  const received: Received = { ids: [], contents: [], tokenFrames: 0, text: '', done: false };
  return new Promise((resolve, reject) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(textOf(data)) as TrpcFrame;
      if (frame.error) return reject(new Error(frame.error.message));
      if (frame.result?.type === 'stopped') return resolve({ ...received, text: received.contents.join('') });
      const event = frame.result?.data;
      if (!event) return;
      received.ids.push(event.id);
      received.contents.push(event.data.type === 'token' ? event.data.content : '');
      if (event.data.type === 'token') received.tokenFrames++;
      if (event.data.type === 'done') received.done = true;
    });
    socket.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'chat.stream', input } }));
  });
}

const seqOf = (id: string) => parseEventId(id)?.seq ?? Number.NaN;

async function untilReplySaved(h: Harness, deadlineMs = 120_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    const saved = (await h.messages()).find((m) => m.role === 'assistant');
    if (saved && saved.content.length === BIG_REPLY.length) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the reply was not saved in time');
}

describe.each(testDrivers())('a slow tRPC WebSocket reader on $name', (driver) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('gets the turn in fewer, larger frames whose text joins exactly, with strictly increasing ids it resumes after', async () => {
    h = await startHarness(driver);
    h.openai.setDefaultReply({ text: BIG_REPLY, chunkSize: TOKEN_CHARS, delayMsBetweenChunks: 1 });
    const token = await h.token('slow-reader');
    const socket = await openTrpcSocket(h.url, token);
    const tcp = (socket as unknown as { _socket: Socket })._socket;
    const streamed = subscribe(socket, { message: 'a very long answer', clientMessageId: 'slow-1' });
    // Not reading while the model streams: the server must hold the turn's text, not a frame per token.
    tcp.pause();
    await untilReplySaved(h);
    tcp.resume();
    const received = await streamed;
    socket.terminate();

    expect(received.text).toBe(BIG_REPLY);
    expect(received.done).toBe(true);
    const seqs = received.ids.map(seqOf);
    expect(seqs.every((seq, i) => Number.isInteger(seq) && (i === 0 || seq > seqs[i - 1]!))).toBe(true);
    // The model paced its tokens, so they were stored in many events (seqs); a reader that kept up would get a
    // frame for each. Once the kernel's buffers were full, each frame carried many of them.
    const tokenSeqs = seqs.at(-1)! - 1;
    expect(tokenSeqs).toBeGreaterThan(TOKENS / 10);
    expect(received.tokenFrames, `${received.tokenFrames} frames for ${tokenSeqs} stored events`).toBeLessThan(tokenSeqs / 2);

    // Resuming after any id a coalesced frame carried gives exactly the rest: no gap, no repeat.
    const middle = Math.floor(received.ids.length / 2);
    const resumed = await openTrpcSocket(h.url, token);
    const rest = await subscribe(resumed, { message: 'ignored', clientMessageId: 'slow-1', lastEventId: received.ids[middle] });
    resumed.terminate();
    const textBefore = received.contents.slice(0, middle + 1).join('');
    expect(rest.text).toBe(BIG_REPLY.slice(textBefore.length));
    expect(rest.done).toBe(true);
  });
});

