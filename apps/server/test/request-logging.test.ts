import { Writable } from 'node:stream';
import { testDrivers } from '@fixthread/core/testing';
import { describe, expect, it } from 'vitest';
import { startHarness } from './support/harness';
import { request } from './support/http';
import { signToken } from './support/tokens';

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  responseTime?: number;
}

const DEBUG = 20;
const INFO = 30;
const WARN = 40;

function captureLogs(): { lines: LogLine[]; logStream: Writable } {
  const lines: LogLine[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { lines, logStream };
}

describe('request logs', () => {
  it('are one debug line per request; a server error or a slow answer is a warning, a long stream is not', async () => {
    const { lines, logStream } = captureLogs();
    const h = await startHarness(testDrivers()[0]!, { logStream, env: { LOG_LEVEL: 'debug', SLOW_REQUEST_MS: '150' } });
    const token = await signToken('request-logger');
    try {
      // About 400 ms to answer: a reply in 12 pieces, 35 ms apart.
      h.openai.setDefaultReply({ text: 'Check the fuse first. '.repeat(6), chunkSize: 11, delayMsBetweenChunks: 35 });
      expect((await request(`${h.url}/health`, { headers: { 'x-request-id': 'quick' } })).status).toBe(200);
      expect((await request(`${h.url}/chat`, { token, json: { message: 'kettle' }, headers: { 'x-request-id': 'slow' } })).status).toBe(200);
      const stream = await fetch(`${h.url}/chat/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': 'stream' },
        body: JSON.stringify({ message: 'toaster' }),
      });
      expect(await stream.text()).toContain('"type":"done"');
      expect((await request(`${h.url}/no-such-route`, { headers: { 'x-request-id': 'missing' } })).status).toBe(404);
      // Replies can no longer be stored: the next answer fails with a 500.
      await h.database.db.execute(`alter table conversations add constraint no_replies check (role <> 'assistant') not valid`);
      expect((await request(`${h.url}/chat`, { token, json: { message: 'drill' }, headers: { 'x-request-id': 'broken' } })).status).toBe(500);
    } finally {
      await h.close();
    }
    const of = (reqId: string) => lines.filter((line) => line.reqId === reqId);

    expect(of('quick').map((line) => [line.level, line.msg, line.req?.url, line.res?.statusCode])).toEqual([
      [DEBUG, 'request completed', '/health', 200],
    ]);
    expect(of('quick')[0]?.responseTime).toEqual(expect.any(Number));

    const slow = of('slow').filter((line) => line.level >= INFO);
    expect(slow.map((line) => [line.level, line.msg, line.req?.url])).toEqual([[WARN, 'slow request', '/chat']]);
    expect(slow[0]?.responseTime).toBeGreaterThan(150);

    const streamed = of('stream').filter((line) => line.req);
    expect(streamed.map((line) => [line.level, line.msg, line.req?.url])).toEqual([[DEBUG, 'request completed', '/chat/stream']]);
    expect(streamed[0]?.responseTime).toBeGreaterThan(150);

    expect(of('missing').map((line) => [line.level, line.msg, line.res?.statusCode])).toEqual([[DEBUG, 'request completed', 404]]);

    const broken = of('broken').filter((line) => line.level >= INFO);
    expect(broken.map((line) => [line.level, line.msg])).toEqual([
      [50, 'request failed'],
      [WARN, 'request failed with a server error'],
    ]);

    // Nothing logs every request at info any more.
    expect(lines.filter((line) => ['incoming request', 'request completed'].includes(line.msg) && line.level >= INFO)).toEqual([]);
  });
});
