/**
 * Part 11 — server RSS over a long mixed load: SOAK_USERS users in a closed loop, each cycling through a tRPC
 * chat.stream turn, a POST /chat/stream turn, a POST /chat turn and a GET /chat/history, for `minutes`
 * (10 in the full run; `--soak-minutes=1` for a quick one). The server is a child process sampled every
 * SAMPLE_MS (no forced GC: RSS as an operator sees it). Warm-up is the first fifth of the run (at least 20 s);
 * the figure is the highest RSS after warm-up ÷ the RSS at the end of warm-up, target within 10%.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { startChildServer, type ChildServer } from './support/child-server';
import { checkTurn, streamOverSse } from './support/clients';
import type { BenchDriver } from './support/databases';
import { SHORT_REPLY, startFakeModel } from './support/fake-model';
import { closeSockets, openTrpcSocket, subscribeChatStream } from './support/raw-sockets';
import { benchEnv, devLogin, LOADED_MACHINE } from './support/server-env';
import { addSummaryRow } from './support/summary';
import { fixed, mib, printTable, sanity, sleep, times } from './support/stats';

const SOAK_USERS = 8;
const SAMPLE_MS = 5_000;

interface Sample {
  atS: number;
  rss: number;
  heapUsed: number;
}

export interface RssSoakResult {
  driver: string;
  minutes: number;
  warmupS: number;
  turns: number;
  samples: Sample[];
}

export async function measureRssSoak(driver: BenchDriver, minutes: number): Promise<RssSoakResult> {
  const model = await startFakeModel();
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-bench-soak-'));
  const database = await driver.forChild();
  let child: ChildServer | undefined;
  const sockets: WebSocket[] = [];
  try {
    child = await startChildServer('fixthread', benchEnv({ openaiBaseUrl: model.openai.baseURL, dataDir, extra: { ...database.env, ...LOADED_MACHINE } }));
    const server = child;
    const users = await Promise.all(
      Array.from({ length: SOAK_USERS }, async (_, i) => ({ id: `soak-${i}`, token: await devLogin(server.url, `soak-${i}`) })),
    );
    for (const user of users) sockets.push(await openTrpcSocket(server.url, user.token, user.id));
    const durationMs = minutes * 60_000;
    const warmupS = Math.max(20, (durationMs / 1000) * 0.2);
    const started = performance.now();
    const deadline = started + durationMs;
    const samples: Sample[] = [];
    const sampler = (async () => {
      while (performance.now() < deadline) {
        await sleep(SAMPLE_MS);
        const memory = await server.memory(false);
        samples.push({ atS: (performance.now() - started) / 1000, rss: memory.rss, heapUsed: memory.heapUsed });
      }
    })();
    let turns = 0;
    await Promise.all(
      users.map(async (user, u) => {
        for (let n = 0; performance.now() < deadline; n++) {
          const message = `Soak question ${n}`;
          const step = (n + u) % 4;
          if (step === 0) {
            sanity((await subscribeChatStream(sockets[u]!, n + 1, message)).text === SHORT_REPLY, 'soak tRPC turn');
          } else if (step === 1) {
            checkTurn(await streamOverSse(server.url, user.token, message), SHORT_REPLY, 'soak SSE');
          } else {
            const response = await fetch(`${server.url}${step === 2 ? '/chat' : '/chat/history'}`, {
              method: step === 2 ? 'POST' : 'GET',
              headers: {
                authorization: `Bearer ${user.token}`,
                ...(step === 2 ? { 'content-type': 'application/json' } : {}),
              },
              ...(step === 2 ? { body: JSON.stringify({ message }) } : {}),
            });
            sanity(response.ok, `soak ${step === 2 ? 'POST /chat' : 'GET /chat/history'} answered ${response.status}`);
            await response.arrayBuffer();
          }
          turns++;
        }
      }),
    );
    await sampler;
    return { driver: driver.name, minutes, warmupS, turns, samples };
  } finally {
    await closeSockets(sockets);
    await child?.stop();
    await model.openai.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function reportRssSoak(result: RssSoakResult): void {
  const after = result.samples.filter((s) => s.atS >= result.warmupS);
  const atWarm = after[0];
  const peak = after.reduce((max, s) => (s.rss > max.rss ? s : max), atWarm ?? { atS: 0, rss: Number.NaN, heapUsed: 0 });
  const last = after.at(-1);
  const every = Math.max(1, Math.floor(result.samples.length / 12));
  printTable(
    ['driver', 't s', 'RSS MiB', 'heap MiB'],
    result.samples.filter((_, i) => i % every === 0 || i === result.samples.length - 1).map((s) => [result.driver, fixed(s.atS, 0), mib(s.rss), mib(s.heapUsed)]),
  );
  const ratio = peak.rss / (atWarm?.rss ?? Number.NaN);
  console.log(
    `→ ${result.driver}: ${result.turns} requests in ${result.minutes} min; RSS ${mib(atWarm?.rss ?? Number.NaN)} MiB after ${fixed(result.warmupS, 0)} s of warm-up, ` +
      `peak ${mib(peak.rss)} MiB at ${fixed(peak.atS, 0)} s, ${mib(last?.rss ?? Number.NaN)} MiB at the end (${times(ratio, 3)}).`,
  );
  addSummaryRow({
    figure: `${result.driver}: server RSS peak after warm-up ÷ at warm-up, ${result.minutes} min mixed load (MiB)`,
    fixthread: mib(peak.rss),
    baseline: mib(atWarm?.rss ?? Number.NaN),
    ratio: times(ratio, 3),
    target: '≤ 1.10×',
    met: ratio <= 1.1,
  });
}
