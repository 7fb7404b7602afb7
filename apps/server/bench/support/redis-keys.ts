/**
 * Removes what a benchmark left in the shared Redis: only keys under its own unique prefix (SCAN MATCH +
 * UNLINK), never anything else. A minimal RESP client over one socket, so the bench needs no Redis package.
 */
import { connect, type Socket } from 'node:net';

type Resp = string | number | null | Resp[];

/** Parses one RESP reply at `at`; undefined while it is incomplete. */
function parse(buffer: Buffer, at: number): { value: Resp; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', at);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buffer[at] ?? 0);
  const line = buffer.toString('utf8', at + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === '+') return { value: line, next };
  if (type === '-') throw new Error(`redis: ${line}`);
  if (type === ':') return { value: Number(line), next };
  if (type === '$') {
    const length = Number(line);
    if (length < 0) return { value: null, next };
    if (buffer.length < next + length + 2) return undefined;
    return { value: buffer.toString('utf8', next, next + length), next: next + length + 2 };
  }
  if (type === '*') {
    const count = Number(line);
    if (count < 0) return { value: null, next };
    const items: Resp[] = [];
    let cursor = next;
    for (let i = 0; i < count; i++) {
      const item = parse(buffer, cursor);
      if (!item) return undefined;
      items.push(item.value);
      cursor = item.next;
    }
    return { value: items, next: cursor };
  }
  throw new Error(`redis: unexpected reply type ${JSON.stringify(type)}`);
}

function client(socket: Socket) {
  let buffer = Buffer.alloc(0);
  const waiting: Array<{ resolve: (value: Resp) => void; reject: (error: Error) => void }> = [];
  const fail = (error: Error) => {
    for (const w of waiting.splice(0)) w.reject(error);
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    try {
      for (let parsed = parse(buffer, 0); parsed && waiting.length > 0; parsed = parse(buffer, 0)) {
        buffer = buffer.subarray(parsed.next);
        waiting.shift()?.resolve(parsed.value);
      }
    } catch (error) {
      fail(error as Error);
    }
  });
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('redis: connection closed')));
  return (...args: string[]): Promise<Resp> =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
}

/** Deletes every key starting with `prefix` (which must be unique to this run); returns how many. */
export async function deleteKeysWithPrefix(redisUrl: string, prefix: string): Promise<number> {
  if (!/^[\w.:-]{8,}$/.test(prefix)) throw new Error(`refusing to delete keys under prefix ${JSON.stringify(prefix)}`);
  const url = new URL(redisUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
  socket.setTimeout(10_000, () => socket.destroy(new Error('redis: timed out')));
  try {
    const call = client(socket);
    if (url.password) await call('AUTH', ...(url.username ? [decodeURIComponent(url.username)] : []), decodeURIComponent(url.password));
    const db = url.pathname.slice(1);
    if (db) await call('SELECT', db);
    let deleted = 0;
    let cursor = '0';
    do {
      const [nextCursor, keys] = (await call('SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000')) as [string, string[]];
      cursor = nextCursor;
      if (keys.length > 0) deleted += (await call('UNLINK', ...keys)) as number;
    } while (cursor !== '0');
    return deleted;
  } finally {
    socket.destroy();
  }
}
