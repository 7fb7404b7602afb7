/**
 * Part 7 — photos. A ~4 MB phone-sized photo (4032 × 3024 JPEG, noisy so it neither compresses nor decodes
 * cheaply) through the REST API:
 *
 *   a. upload to first token: POST /chat/attachments (multipart), then POST /chat/stream naming it, until the
 *      first `token` event. Baseline: a text-only turn's time to first token, same server, same run. The
 *      upload is split into its parts, each measured on its own: the transfer (the same number of bytes,
 *      refused after sniffing, so nothing is decoded), normalising (core's normaliseImage on the same bytes,
 *      in this process), and the rest (storing the row, the request around it). Each sample is a user's
 *      first turn, text and photo alike; the four kinds are interleaved, rotating, so drift hits all.
 *      In process, per bench driver, like part 1.
 *   b. server memory during 20 concurrent uploads of that photo: peak RSS (sampled by the server itself every
 *      SAMPLE_MS; libvips works outside the JS heap) minus RSS at rest after a warm-up upload, against the
 *      uploads' own size (20 × the file) as the yardstick. The server is a child process, per driver.
 *
 * Alone: pnpm --filter @fixthread/server exec tsx bench/photo-upload.ts
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TurnEvent } from '@fixthread/core';
import { normaliseImage } from '@fixthread/core/images';
import { parseSse } from '@fixthread/testing';
import sharp from 'sharp';
import { requestChild } from './support/child-server';
import { benchDrivers, type BenchDriver } from './support/databases';
import { SHORT_REPLY, startFakeModel } from './support/fake-model';
import { startInProcessServer } from './support/in-process-server';
import { benchEnv, devLogin } from './support/server-env';
import { fixed, mib, printTable, sanity, summarize, times } from './support/stats';
import type { UploadMemory, UploadMemoryReply, UploadMemoryRequest } from './support/upload-memory-server';

const WARMUP = 1;
const SAMPLES = 8;
const CONCURRENT_UPLOADS = 20;
const SAMPLE_MS = 5;

/** A phone photo's size and byte count: 12.2 MP, about 4 MB at this quality and noise. */
export async function benchPhoto(): Promise<Buffer> {
  return sharp({
    create: { width: 4032, height: 3024, channels: 3, background: { r: 120, g: 110, b: 100 }, noise: { type: 'gaussian', mean: 120, sigma: 12 } },
  })
    .jpeg({ quality: 91 })
    .toBuffer();
}

interface Uploaded {
  id: string;
  width: number;
  height: number;
}

async function upload(baseUrl: string, token: string, bytes: Uint8Array): Promise<{ status: number; body: Uploaded }> {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'image/jpeg' }), 'IMG_0001.jpg');
  const response = await fetch(`${baseUrl}/chat/attachments`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: response.status, body: (await response.json()) as Uploaded };
}

/** POST /chat/stream with `body`, read to the end; ms from `start` to the first `token` event. */
async function streamTurn(baseUrl: string, token: string, body: object, start: number): Promise<number> {
  const response = await fetch(`${baseUrl}/chat/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  sanity(response.ok && response.body, `POST /chat/stream answered ${response.status}`);
  let ttft = Number.NaN;
  let text = '';
  let done = false;
  for await (const data of parseSse(response.body)) {
    const event = JSON.parse(data) as TurnEvent;
    if (event.type === 'token') {
      if (text === '') ttft = performance.now() - start;
      text += event.content;
    } else if (event.type === 'done') {
      done = !event.stopped;
    }
  }
  sanity(done && text === SHORT_REPLY, `a turn streamed ${text.length} chars, expected ${SHORT_REPLY.length}`);
  return ttft;
}

type Kind = 'text' | 'photo' | 'transfer' | 'normalise';

export interface PhotoTurnResult {
  driver: string;
  photoBytes: number;
  storedBytes: number;
  samples: Record<'text' | 'upload' | 'photoTtft' | 'total' | 'transfer' | 'normalise', number[]>;
}

export async function measurePhotoTurn(driver: BenchDriver, photo: Buffer): Promise<PhotoTurnResult> {
  const server = await startInProcessServer(driver);
  // The same number of bytes, which the server refuses from their first bytes: the transfer, and no decoding.
  const notAnImage = randomBytes(photo.length);
  const samples: PhotoTurnResult['samples'] = { text: [], upload: [], photoTtft: [], total: [], transfer: [], normalise: [] };
  let storedBytes = 0;
  let user = 0;
  const freshUser = () => devLogin(server.url, `photo-bench-${driver.name}-${user++}`);
  try {
    const runs: Record<Kind, (keep: boolean) => Promise<void>> = {
      text: async (keep) => {
        const token = await freshUser();
        const ttft = await streamTurn(server.url, token, { message: 'What is wrong with my phone’s charging port?' }, performance.now());
        if (keep) samples.text.push(ttft);
      },
      photo: async (keep) => {
        const token = await freshUser();
        const start = performance.now();
        const uploaded = await upload(server.url, token, photo);
        const uploadMs = performance.now() - start;
        sanity(uploaded.status === 201, `the photo upload answered ${uploaded.status}`);
        const afterUpload = performance.now();
        const ttft = await streamTurn(
          server.url,
          token,
          { message: 'What is wrong with my phone’s charging port?', attachments: [uploaded.body.id] },
          afterUpload,
        );
        if (!keep) return;
        samples.upload.push(uploadMs);
        samples.photoTtft.push(ttft);
        samples.total.push(uploadMs + ttft);
      },
      transfer: async (keep) => {
        const token = await freshUser();
        const start = performance.now();
        const refused = await upload(server.url, token, notAnImage);
        sanity(refused.status === 415, `the refused upload answered ${refused.status}`);
        if (keep) samples.transfer.push(performance.now() - start);
      },
      normalise: async (keep) => {
        const start = performance.now();
        const normalised = await normaliseImage(photo);
        if (keep) samples.normalise.push(performance.now() - start);
        storedBytes = normalised.bytes.length;
      },
    };
    const kinds = Object.keys(runs) as Kind[];
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      for (let k = 0; k < kinds.length; k++) await runs[kinds[(i + k) % kinds.length]!](i >= WARMUP);
    }
  } finally {
    await server.close();
  }
  return { driver: driver.name, photoBytes: photo.length, storedBytes, samples };
}

export function reportPhotoTurn(results: PhotoTurnResult[]): void {
  const rows: string[][] = [];
  for (const { driver, samples } of results) {
    const base = summarize(samples.text);
    const row = (label: string, values: number[]) => {
      const s = summarize(values);
      rows.push([driver, label, String(s.n), fixed(s.median, 0), fixed(s.p95, 0), times(s.median / base.median)]);
    };
    row('text turn: request → first token (baseline)', samples.text);
    row('photo: upload start → first token', samples.total);
    row('  upload (POST /chat/attachments → 201)', samples.upload);
    row('    transfer (same bytes, refused unread)', samples.transfer);
    row('    normalise (normaliseImage alone)', samples.normalise);
    row('  then request → first token', samples.photoTtft);
  }
  printTable(['driver', 'time of', 'n', 'median ms', 'p95 ms', '× text TTFT'], rows);
  const first = results[0];
  if (first) {
    console.log(
      `  (${SAMPLES} samples of each after ${WARMUP} warm-up, interleaved; a ${mib(first.photoBytes)} MB 4032×3024 JPEG, ` +
        `stored as ${mib(first.storedBytes)} MB at 2048 px; each sample is a new user's first turn)`,
    );
  }
  for (const { driver, samples } of results) {
    const text = summarize(samples.text).median;
    const total = summarize(samples.total).median;
    const uploadMs = summarize(samples.upload).median;
    const transfer = summarize(samples.transfer).median;
    const normalise = summarize(samples.normalise).median;
    const photoTtft = summarize(samples.photoTtft).median;
    console.log(
      `→ ${driver}: a 4 MB photo's first token comes ${fixed(total, 0)} ms after its upload starts (${times(total / text)} a text turn's ` +
        `${fixed(text, 0)} ms): the upload ${fixed(uploadMs, 0)} ms (of which, measured apart, transfer ~${fixed(transfer, 0)} and ` +
        `normalising ~${fixed(normalise, 0)}), then ${fixed(photoTtft, 0)} ms to the first token ` +
        `(${times(photoTtft / text)} text; the model request carries the photo).`,
    );
  }
}

export interface UploadMemoryResult {
  driver: string;
  photoBytes: number;
  /** Before any upload (sharp not loaded yet), at rest after the warm-up upload, the peak during, after. */
  fresh: UploadMemory;
  idle: UploadMemory;
  peak: UploadMemory;
  after: UploadMemory;
  wallMs: number;
  latencies: number[];
}

interface UploadMemoryChild {
  url: string;
  memory(options: { gc: boolean; resetPeak: boolean }): Promise<UploadMemory>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./support/upload-memory-server.ts', import.meta.url));

async function startUploadMemoryChild(env: Record<string, string>): Promise<UploadMemoryChild> {
  // tsx's loader hooks ride in execArgv; the driver's env (DATABASE_URL or none) is the only database setting.
  const child = fork(ENTRY, [], {
    execArgv: [...process.execArgv, '--expose-gc'],
    env: { ...process.env, DATABASE_URL: undefined, TEST_DATABASE_URL: undefined },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  try {
    const ready = await requestChild<UploadMemoryReply>(child, { type: 'start', env, sampleMs: SAMPLE_MS });
    sanity(ready.type === 'ready', 'upload-memory child did not start');
    return {
      url: ready.url,
      memory: async ({ gc, resetPeak }) => {
        const reply = await requestChild<UploadMemoryReply>(child, { type: 'memory', gc, resetPeak });
        sanity(reply.type === 'memory', 'upload-memory child did not report memory');
        return { usage: reply.usage, peakRss: reply.peakRss, samples: reply.samples };
      },
      stop: async () => {
        if (child.exitCode === null) child.send({ type: 'exit' } satisfies UploadMemoryRequest);
        await exited;
      },
    };
  } catch (error) {
    child.kill();
    throw error;
  }
}

export async function measureUploadMemory(driver: BenchDriver, photo: Buffer): Promise<UploadMemoryResult> {
  const model = await startFakeModel();
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-bench-photos-'));
  const database = await driver.forChild();
  let child: UploadMemoryChild | undefined;
  try {
    child = await startUploadMemoryChild(benchEnv({ openaiBaseUrl: model.openai.baseURL, dataDir, extra: database.env }));
    const server = child;
    const tokens = await Promise.all(Array.from({ length: CONCURRENT_UPLOADS }, (_, i) => devLogin(server.url, `upload-memory-${i}`)));
    const fresh = await server.memory({ gc: true, resetPeak: true });
    sanity((await upload(server.url, tokens[0]!, photo)).status === 201, 'the warm-up upload failed');
    const idle = await server.memory({ gc: true, resetPeak: true });
    const start = performance.now();
    const latencies = await Promise.all(
      tokens.map(async (token) => {
        const began = performance.now();
        const answer = await upload(server.url, token, photo);
        sanity(answer.status === 201, `a concurrent upload answered ${answer.status}`);
        return performance.now() - began;
      }),
    );
    const wallMs = performance.now() - start;
    const peak = await server.memory({ gc: false, resetPeak: false });
    const after = await server.memory({ gc: true, resetPeak: true });
    return { driver: driver.name, photoBytes: photo.length, fresh, idle, peak, after, wallMs, latencies };
  } finally {
    await child?.stop();
    await model.openai.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function reportUploadMemory(results: UploadMemoryResult[]): void {
  const rows = results.map(({ driver, photoBytes, fresh, idle, peak, after, wallMs, latencies }) => {
    const yardstick = CONCURRENT_UPLOADS * photoBytes;
    const added = peak.peakRss - idle.usage.rss;
    const s = summarize(latencies);
    return [
      driver,
      mib(idle.usage.rss - fresh.usage.rss),
      mib(idle.usage.rss),
      mib(peak.peakRss),
      mib(added),
      times(added / yardstick),
      mib(after.usage.rss - idle.usage.rss),
      fixed(wallMs / 1000, 1),
      fixed(s.median, 0),
      fixed(s.max, 0),
    ];
  });
  printTable(
    ['driver', 'sharp load MB', 'idle RSS MB', 'peak RSS MB', 'added MB', '× 20 files', 'kept after MB', 'all done s', 'median ms', 'max ms'],
    rows,
    1,
  );
  for (const { driver, photoBytes, idle, peak } of results) {
    const added = peak.peakRss - idle.usage.rss;
    console.log(
      `→ ${driver}: ${CONCURRENT_UPLOADS} concurrent uploads of a ${mib(photoBytes)} MB photo raise the server's RSS by at most ` +
        `${mib(added)} MB, ${times(added / (CONCURRENT_UPLOADS * photoBytes))} the ${mib(CONCURRENT_UPLOADS * photoBytes)} MB the files ` +
        `themselves add up to (${peak.samples} RSS samples, every ${SAMPLE_MS} ms; at most 2 photos decode at once).`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const photo = await benchPhoto();
  const drivers = benchDrivers();
  const turns: PhotoTurnResult[] = [];
  const memory: UploadMemoryResult[] = [];
  for (const driver of drivers) {
    turns.push(await measurePhotoTurn(driver, photo));
    memory.push(await measureUploadMemory(driver, photo));
  }
  console.log('\nPart 7a — a photo: upload start → first token, against a text turn (server, clients and fake in this process)');
  reportPhotoTurn(turns);
  console.log(`\nPart 7b — server RSS during ${CONCURRENT_UPLOADS} concurrent uploads (server in a child process)`);
  reportUploadMemory(memory);
}
