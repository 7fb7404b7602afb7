/**
 * Part 13 — bytes on the wire per token: what the client's socket reads for a turn (headers and framing
 * included), over tRPC chat.stream and POST /chat/stream. Per token is the marginal cost: a LONG_REPLY turn
 * (5× the short reply) minus a short one, over the extra model tokens, so the per-turn overhead (HTTP
 * headers, started/done frames) cancels out. Twice: with the fake streaming as fast as it can (tokens that
 * arrive together are coalesced into fewer frames) and paced at one token every PACED_MS, as a real model
 * streams, where every token is its own frame: the figure the target is about.
 */
import { request } from 'node:http';
import type WebSocket from 'ws';
import { LONG_PREFIX, LONG_REPLY, PACED_MS, PACED_PREFIX, type BenchSession } from './support/bench-session';
import { SHORT_REPLY, SHORT_REPLY_DELTAS } from './support/fake-model';
import { socketBytesRead, subscribeChatStream } from './support/raw-sockets';
import { addSummaryRow } from './support/summary';
import { fixed, printTable, sanity } from './support/stats';

const TURNS = 5;
const LONG_REPLY_DELTAS = LONG_REPLY.match(/\s*\S+|\s+/g)?.length ?? 0;

type Transport = 'tRPC WS' | 'SSE' | 'tRPC WS, paced' | 'SSE, paced';

export interface WireBytesResult {
  driver: string;
  bytes: Record<Transport, { short: number; long: number }>;
}

async function trpcBytes(socket: WebSocket, id: number, message: string, expected: string): Promise<number> {
  const before = socketBytesRead(socket);
  const { text } = await subscribeChatStream(socket, id, message);
  sanity(text === expected, 'tRPC turn streamed a different reply');
  return socketBytesRead(socket) - before;
}

/** A POST /chat/stream on its own connection; the response's bytes as the socket read them. */
function sseBytes(baseUrl: string, token: string, message: string, expected: string): Promise<number> {
  const body = JSON.stringify({ message });
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/chat/stream`, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const streamed = [...text.matchAll(/^data: (.*)$/gm)]
          .map((m) => JSON.parse(m[1]!) as { type: string; content?: string })
          .filter((e) => e.type === 'token')
          .map((e) => e.content)
          .join('');
        if (streamed !== expected) reject(new Error('SSE turn streamed a different reply'));
        else resolve(res.socket.bytesRead);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function measureWireBytes(session: BenchSession): Promise<WireBytesResult> {
  const [socket] = await session.sockets('wire-ws', 1);
  const [user] = await session.users('wire-sse', 1);
  const zero = () => ({ short: 0, long: 0 });
  const bytes: WireBytesResult['bytes'] = { 'tRPC WS': zero(), SSE: zero(), 'tRPC WS, paced': zero(), 'SSE, paced': zero() };
  let id = 2_000_000;
  for (let i = 0; i < TURNS; i++) {
    for (const [ws, sse, prefix] of [
      ['tRPC WS', 'SSE', ''],
      ['tRPC WS, paced', 'SSE, paced', PACED_PREFIX],
    ] as const) {
      bytes[ws].short += await trpcBytes(socket!, id++, `${prefix}short ${i}`, SHORT_REPLY);
      bytes[ws].long += await trpcBytes(socket!, id++, `${prefix}${LONG_PREFIX} ${i}`, LONG_REPLY);
      bytes[sse].short += await sseBytes(session.server.url, user!.token, `${prefix}short ${i}`, SHORT_REPLY);
      bytes[sse].long += await sseBytes(session.server.url, user!.token, `${prefix}${LONG_PREFIX} ${i}`, LONG_REPLY);
    }
  }
  for (const t of Object.values(bytes)) {
    t.short /= TURNS;
    t.long /= TURNS;
  }
  return { driver: session.driver, bytes };
}

export function reportWireBytes(results: WireBytesResult[]): void {
  const rows: string[][] = [];
  for (const { driver, bytes } of results) {
    for (const [transport, b] of Object.entries(bytes)) {
      const marginal = (b.long - b.short) / (LONG_REPLY_DELTAS - SHORT_REPLY_DELTAS);
      rows.push([driver, transport, fixed(b.short, 0), fixed(b.long, 0), fixed(b.short / SHORT_REPLY_DELTAS, 1), fixed(marginal, 1)]);
      if (!transport.endsWith('paced')) continue;
      addSummaryRow({
        figure: `bytes on the wire per token, ${transport.replace(', paced', '')} (a token every ${PACED_MS} ms)`,
        fixthread: `${fixed(marginal, 1)} B`,
        baseline: `${fixed(b.short / SHORT_REPLY_DELTAS, 1)} B/token whole turn`,
        ratio: '-',
        target: '(reported)',
        met: undefined,
      });
    }
  }
  printTable(
    ['driver', 'transport', `B/turn (${SHORT_REPLY_DELTAS} tokens)`, `B/turn (${LONG_REPLY_DELTAS} tokens)`, 'B/token whole turn', 'B/token marginal'],
    rows,
  );
  console.log(
    `  (bytes the client socket read, framing and headers included; ${TURNS} turns each, averaged; 'paced': one token\n` +
      `   every ${PACED_MS} ms from the fake, else as fast as it can send, when the server coalesces tokens into fewer frames)`,
  );
}
