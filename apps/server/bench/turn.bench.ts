/**
 * Server benchmarks: what FixThread adds on top of the work a chat turn needs anyway.
 *
 * These machines are noisy (2 cores), so every figure is a RATIO against a baseline measured in the same run:
 * the "raw-driver limit", the same work done without FixThread in the way (the openai SDK straight to the
 * fake model, SQL straight through postgres.js / PGlite, a bare `ws` server). The real server is booted with
 * createServer (dev-auth mode, temp DATA_DIR, silent logger) against the fake OpenAI-compatible server from
 * @fixthread/testing (no per-chunk delay).
 *
 *   1. time-to-first-token.ts       added TTFT over SSE and tRPC/WebSocket vs the SDK alone     (in process)
 *   2. turns-per-second.ts          turns/s of 16 concurrent users vs the raw SDK + driver limit (in process)
 *   3. memory-per-websocket.ts      server heap per idle authenticated WebSocket vs bare ws      (child process)
 *   4. slow-reader-backpressure.ts  what a slow SSE reader costs the others and the server, and that its
 *                                   reply is saved in full                                      (child process)
 *   5. memory-per-reply.ts          server heap one 200k-token reply holds, at done and after the
 *                                   resume window, over SSE and tRPC, vs the reply's UTF-8 size (child process)
 *   6. multi-instance.ts            turns/s and TTFT with 1, 2 and 3 instances behind a round-robin client vs
 *                                   1 instance, and following a turn from another instance (production bundle,
 *                                   one process per instance, Postgres + Redis)
 *   7. photo-upload.ts              a 4 MB photo: upload start → first token vs a text turn's TTFT, with the
 *                                   upload split into transfer and normalising (in process); server RSS during
 *                                   20 concurrent uploads vs the files' own size                (child process)
 *
 * Parts 1, 2, 4 and 7 run on PGlite, and on a fresh Postgres database too when TEST_DATABASE_URL or DATABASE_URL
 * is set; part 3 measures the WebSocket layer, which does not touch the database, so it runs on PGlite only,
 * as does part 5 (what a turn holds in memory, not in the database). Part 6 needs instances sharing one
 * database, so it runs on Postgres only and is skipped without TEST_DATABASE_URL or DATABASE_URL.
 *
 * Run: pnpm --filter @fixthread/server bench
 */
import { cpus, loadavg } from 'node:os';
import { measureMemoryPerReply, reportMemoryPerReply } from './memory-per-reply';
import { measureMultiInstance, reportMultiInstance } from './multi-instance';
import {
  measureMemoryPerWebSocket,
  reportMemoryPerWebSocket,
  type WsMemoryResult,
} from './memory-per-websocket';
import {
  measureSlowReaderBackpressure,
  reportSlowReaderBackpressure,
  type BackpressureResult,
} from './slow-reader-backpressure';
import {
  benchPhoto,
  measurePhotoTurn,
  measureUploadMemory,
  reportPhotoTurn,
  reportUploadMemory,
  type PhotoTurnResult,
  type UploadMemoryResult,
} from './photo-upload';
import { benchDrivers, postgresSkippedNote } from './support/databases';
import { startInProcessServer } from './support/in-process-server';
import { loadOpenAI } from './support/openai-sdk';
import { measureTimeToFirstToken, reportTimeToFirstToken, type TtftResult } from './time-to-first-token';
import { measureTurnsPerSecond, reportTurnsPerSecond, type ThroughputResult } from './turns-per-second';
import { runIssue12Parts, type Issue12Parts } from './issue-12-parts';
import { printSummary } from './support/summary';

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  console.log(`${label} (${((performance.now() - start) / 1000).toFixed(1)}s)`);
  return result;
}

/** Other work on the machine moves absolute figures (not, much, the ratios); the load says how much there was. */
const load = () => loadavg()[0]?.toFixed(2) ?? '?';

/** `--parts=1,2` runs only those parts (all by default), for a quick before/after of one figure. */
function selectedParts(): Set<number> {
  const flag = process.argv.find((arg) => arg.startsWith('--parts='));
  const parts = flag?.slice('--parts='.length).split(',').map(Number) ?? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  return new Set(parts.filter((part) => Number.isInteger(part)));
}

/** `--soak-minutes=1` shortens part 11's soak (10 minutes by default). */
function soakMinutes(): number {
  const flag = process.argv.find((arg) => arg.startsWith('--soak-minutes='));
  const minutes = flag ? Number(flag.slice('--soak-minutes='.length)) : 10;
  if (!(minutes > 0)) throw new Error(`--soak-minutes must be a positive number, got ${flag}`);
  return minutes;
}

async function main(): Promise<void> {
  const parts = selectedParts();
  if (process.argv.includes('--cpu-prof')) {
    const { profileTrpcTurns } = await import('./cpu-profile');
    await profileTrpcTurns(benchDrivers());
    return;
  }
  const started = performance.now();
  const loadAtStart = load();
  const OpenAI = await loadOpenAI();
  const ttft: TtftResult[] = [];
  const throughput: ThroughputResult[] = [];
  const memory: WsMemoryResult[] = [];
  const backpressure: BackpressureResult[] = [];
  const photoTurns: PhotoTurnResult[] = [];
  const uploadMemory: UploadMemoryResult[] = [];
  const photo = parts.has(7) ? await benchPhoto() : undefined;
  const drivers = benchDrivers();

  for (const driver of drivers) {
    // Parts 1 and 2 share one in-process server per driver; no need to boot it for the others.
    const server = parts.has(1) || parts.has(2) ? await startInProcessServer(driver) : undefined;
    try {
      if (server && parts.has(1)) {
        ttft.push(
          await timed(`${driver.name}: part 1, time to first token`, () =>
            measureTimeToFirstToken(driver.name, server, OpenAI),
          ),
        );
      }
      if (server && parts.has(2)) {
        throughput.push(
          await timed(`${driver.name}: part 2, turns/s`, () => measureTurnsPerSecond(driver.name, server, OpenAI)),
        );
      }
    } finally {
      await server?.close();
    }
    if (driver === drivers[0] && parts.has(3)) {
      memory.push(
        await timed(`${driver.name}: part 3, memory per WebSocket`, () => measureMemoryPerWebSocket(driver)),
      );
    }
    if (parts.has(4)) {
      backpressure.push(
        await timed(`${driver.name}: part 4, slow reader`, () => measureSlowReaderBackpressure(driver)),
      );
    }
    if (photo) {
      photoTurns.push(await timed(`${driver.name}: part 7a, photo to first token`, () => measurePhotoTurn(driver, photo)));
      uploadMemory.push(await timed(`${driver.name}: part 7b, memory of concurrent uploads`, () => measureUploadMemory(driver, photo)));
    }
  }
  const replyMemory = parts.has(5) ? await timed('pglite: part 5, memory per reply', () => measureMemoryPerReply()) : undefined;
  const postgres = drivers.find((driver) => driver.name === 'postgres');
  const multiInstance =
    parts.has(6) && postgres
      ? await timed('postgres: part 6, 1-3 instances', () => measureMultiInstance(postgres))
      : undefined;
  const skipped = postgresSkippedNote();
  if (skipped) console.log(parts.has(6) ? `${skipped}; part 6 (multi-instance) needs it and is skipped` : skipped);

  if (parts.has(1)) {
    console.log(
      '\nPart 1 — added time to first token: sequential turns, request → first token (server, clients and fake in this process)',
    );
    reportTimeToFirstToken(ttft);
  }
  if (parts.has(2)) {
    console.log(
      '\nPart 2 — turns/s: concurrent users, each doing sequential turns (server, clients and fake in this process)',
    );
    reportTurnsPerSecond(throughput);
  }
  if (parts.has(3)) {
    console.log('\nPart 3 — memory per WebSocket (server in a child process, measured there after forced GC)');
    reportMemoryPerWebSocket(memory);
  }
  if (parts.has(4)) {
    console.log('\nPart 4 — a slow SSE reader among normal users (server in a child process)');
    reportSlowReaderBackpressure(backpressure);
  }
  if (replyMemory) {
    console.log(
      '\nPart 5 — server memory per reply: one long reply (server in a child process, after forced GC)',
    );
    reportMemoryPerReply(replyMemory);
  }
  if (multiInstance) {
    console.log(
      '\nPart 6 — 1, 2 and 3 instances behind a round-robin client (each instance a process; clients and fake in this one)',
    );
    reportMultiInstance(multiInstance);
  }
  if (photo) {
    console.log('\nPart 7a — a photo: upload start → first token, against a text turn (server, clients and fake in this process)');
    reportPhotoTurn(photoTurns);
    console.log('\nPart 7b — server RSS during 20 concurrent uploads of that photo (server in a child process)');
    reportUploadMemory(uploadMemory);
  }
  const issue12: Issue12Parts = { parts, soakMinutes: soakMinutes(), timed };
  await runIssue12Parts(drivers, issue12);
  if ([...parts].some((part) => part >= 8)) {
    console.log('\nSummary — issue 12 figures, each a ratio to a baseline measured in this run');
    printSummary();
  }
  console.log(
    `\ntotal ${((performance.now() - started) / 1000).toFixed(1)}s; 1-min load average ${loadAtStart} at start, ` +
      `${load()} at end (${cpus().length} CPUs)`,
  );
}

await main();
