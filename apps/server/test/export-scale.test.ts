import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kill, startBundle, type Started } from './support/server-process';
import { signToken, TEST_JWT_SECRET } from './support/tokens';

/**
 * Export streams: a 100,000-message thread of about 100 MB is downloaded from a server in a process of its
 * own, whose peak resident memory (VmHWM) is read before and after. Built in memory, the export alone would
 * hold the whole 100 MB at once; streamed a page at a time with backpressure, the peak grows by a fraction.
 * Postgres only: seeding 100 MB into PGlite would measure PGlite, not the export.
 */
const MESSAGES = 100_000;
const CONTENT_CHARS = 1_000;
const drivers = testDrivers().filter((driver) => driver.name === 'postgres');
const serverDir = join(import.meta.dirname, '..');
const HEAP_LIMIT_MB = 80;

const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;

describe.skipIf(drivers.length === 0).each(drivers)('export of a long thread on $name', (driver) => {
  let database: TestDatabase;
  let server: Started | undefined;
  let dataDir: string;
  beforeAll(async () => {
    execFileSync(process.execPath, ['build.mjs'], { cwd: serverDir, stdio: 'pipe' });
    database = await driver.open();
    dataDir = mkdtempSync(join(tmpdir(), 'fixthread-export-'));
    server = await startBundle({
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: dataDir,
      WEB_DIST_DIR: join(dataDir, 'no-web-client'),
      DATABASE_URL: database.url!,
      // A loaded two-core machine: a page of 500 one-kilobyte rows must not trip the outage deadline.
      DATABASE_TIMEOUT_MS: '10000',
      // Less heap than the export's size: an export built in memory dies of it, a streamed one does not notice.
      NODE_OPTIONS: `--max-old-space-size=${HEAP_LIMIT_MB}`,
    });
  }, 120_000);
  afterAll(async () => {
    await kill(server);
    await database?.[Symbol.asyncDispose]();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('streams 100,000 messages (~100 MB) as NDJSON while the server’s peak memory grows by a fraction of it', async () => {
    const user = 'exporter';
    const sqlClient = postgres(database.url!, { max: 1, onnotice: () => {} });
    await sqlClient`
      insert into conversations (user_id, thread_id, role, content, content_tokens)
      select ${user}, ${`user-${user}`}, case when i % 2 = 1 then 'user' else 'assistant' end,
             'message ' || i || ' ' || repeat('x', ${CONTENT_CHARS}), 250
      from generate_series(1, ${MESSAGES}) as i`;
    await sqlClient.end();
    const token = await signToken(user);
    const pid = server!.child.pid!;
    const before = peakRss(pid);
    const response = await fetch(`${server!.url}/chat/export?format=ndjson&thread_id=${encodeURIComponent(`user-${user}`)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    let bytes = 0;
    let lines = 0;
    let head = '';
    let tail = '';
    for await (const chunk of response.body! as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      for (const byte of chunk) if (byte === 0x0a) lines++;
      if (head.length < 2_000) head += Buffer.from(chunk).toString('utf8');
      tail = (tail + Buffer.from(chunk).toString('utf8')).slice(-4_000);
    }
    const after = peakRss(pid);
    const first = JSON.parse(head.split('\n')[0]!) as { type: string; content: string };
    const last = JSON.parse(tail.trimEnd().split('\n').at(-1)!) as { type: string; content: string };
    expect(first).toMatchObject({ type: 'message' });
    expect(first.content.startsWith('message 1 ')).toBe(true);
    expect(last.content.startsWith(`message ${MESSAGES} `)).toBe(true);
    expect(lines).toBe(MESSAGES);
    expect(bytes).toBeGreaterThan(MESSAGES * CONTENT_CHARS);
    expect(bytes / 2 ** 20).toBeGreaterThan(HEAP_LIMIT_MB);
    expect(server!.exit).toBeUndefined();
    const grew = after - before;
    console.log(`export: ${(bytes / 2 ** 20).toFixed(0)} MiB streamed by a server limited to ${HEAP_LIMIT_MB} MiB of heap; its peak RSS +${(grew / 2 ** 20).toFixed(1)} MiB`);
    expect(grew).toBeLessThan(bytes / 3);
  }, 240_000);
});
