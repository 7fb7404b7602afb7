import { execFileSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { openDatabase } from '@fixthread/core';
import { signToken } from '../test/support/tokens';
import { startCluster } from './cluster';
import { injectFaults, type InjectedFault } from './fault-injector';
import { parseOptions, type SoakOptions } from './options';
import { Random, sleep } from './random';
import { failures, report, type SoakOutcome } from './report';
import type { SendRecord } from './send-record';
import { runTab } from './tab';
import { verify, waitForSettled, type Verdict } from './verifier';

/** Once the load ends, questions in flight get this long to finish their retries before they are dropped. */
const DRAIN_MS = 90_000;
/** A dead instance's turns: lease (6 s) and sweep (2 s), on a loaded machine. */
const SETTLE_MS = 60_000;

/**
 * `pnpm soak [--duration=5m] [--seed=n] [--no-redis]`: a bounded mixed load on the production bundle with
 * faults injected, then every acknowledgement checked against the database. Exit code 0 only if all holds.
 */
export async function runSoak(
  options: SoakOptions,
  log: (line: string) => void = console.log,
): Promise<SoakOutcome> {
  execFileSync(process.execPath, ['build.mjs'], { cwd: join(import.meta.dirname, '..'), stdio: 'inherit' });
  log(
    `soak: seed ${options.seed}, ${options.durationMs / 1000} s, starting Postgres${options.redis ? ', Redis' : ''} and the servers…`,
  );
  await using cluster = await startCluster({ redis: options.redis });
  const random = new Random(options.seed);
  const users = Array.from({ length: options.users }, (_, i) => `soak-u${i}`);
  const records: SendRecord[] = [];
  const faults: InjectedFault[] = [];
  const stops = { count: 0 };
  const loadEnded = new AbortController();
  const abandon = new AbortController();
  // Every request in flight listens for the abandon, a dozen at a time.
  setMaxListeners(100, abandon.signal);

  log(`soak: load on ${cluster.instances.map((i) => i.url).join(', ')}`);
  const tabs = await Promise.all(
    users.flatMap((user, u) =>
      [0, 1].map(async (tab) => ({
        user,
        tab,
        token: await signToken(user),
        random: random.fork(u * 2 + tab),
      })),
    ),
  );
  const running = tabs.map((tab) =>
    runTab({
      ...tab,
      instances: cluster.instances,
      records,
      stops,
      loadEnded: loadEnded.signal,
      abandon: abandon.signal,
    }),
  );
  const injecting = injectFaults(cluster, random.fork(1_000), options.durationMs, faults);
  await sleep(options.durationMs);
  loadEnded.abort();
  await injecting;
  log('soak: load ended, draining');
  const drained = await Promise.race([
    Promise.all(running).then(() => true),
    sleep(DRAIN_MS).then(() => false),
  ]);
  if (!drained) {
    abandon.abort();
    await Promise.all(running);
  }
  const database = await openDatabase({
    databaseUrl: cluster.databaseUrl,
    migrate: false,
    maxConnections: 1,
  });
  let settled: boolean;
  let verdict: Verdict;
  try {
    settled = await waitForSettled(database.db, SETTLE_MS);
    verdict = await verify(database.db, records, users);
  } finally {
    await database.close();
  }
  const outcome: SoakOutcome = {
    options,
    instances: cluster.instances.length,
    records,
    faults,
    stops: stops.count,
    crashes: [...cluster.unexpectedExits],
    settled,
    verdict,
  };
  if (failures(outcome).length > 0) log(`soak: server logs in ${cluster.saveLogs()}`);
  return outcome;
}

if (import.meta.filename === process.argv[1]) {
  let code = 2;
  try {
    const outcome = await runSoak(parseOptions(process.argv.slice(2)));
    console.log(report(outcome));
    code = failures(outcome).length > 0 ? 1 : 0;
  } catch (error) {
    console.error(error);
  }
  // A server that failed to start may still hold pipes to this process; the soak is over either way.
  process.exit(code);
}
