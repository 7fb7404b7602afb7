import type { Cluster } from './cluster';
import { sleep, type Random } from './random';

export type FaultKind = 'server-kill' | 'postgres-restart' | 'redis-restart';

export interface InjectedFault {
  kind: FaultKind;
  /** Milliseconds into the load phase. */
  atMs: number;
  /** Until the service was back. */
  tookMs: number;
  detail: string;
  error?: string;
}

/** A fault about every 20 s, at least one of each kind, the last well before the load ends. */
function schedule(
  durationMs: number,
  kinds: readonly FaultKind[],
  random: Random,
): Array<{ kind: FaultKind; atMs: number }> {
  const count = Math.max(kinds.length, Math.round(durationMs / 20_000));
  const interval = durationMs / (count + 1);
  const order: FaultKind[] = [];
  while (order.length < count) {
    const round = [...kinds];
    while (round.length > 0) order.push(round.splice(random.int(0, round.length - 1), 1)[0]!);
  }
  return order.slice(0, count).map((kind, i) => ({ kind, atMs: Math.round(interval * (i + 1)) }));
}

/**
 * Server SIGKILLs (the instance comes back on its port), Postgres restarts (alternately `pg_ctl restart -m
 * fast` and a crash: SIGKILL to every postgres process, then start) and, with Redis, Redis restarts (down for
 * a second, back empty). One at a time, each waited out before the next.
 */
export async function injectFaults(
  cluster: Cluster,
  random: Random,
  durationMs: number,
  injected: InjectedFault[],
): Promise<void> {
  const kinds: FaultKind[] = cluster.redis
    ? ['server-kill', 'postgres-restart', 'redis-restart']
    : ['server-kill', 'postgres-restart'];
  const started = Date.now();
  let postgresRestarts = 0;
  for (const { kind, atMs } of schedule(durationMs, kinds, random)) {
    await sleep(Math.max(0, started + atMs - Date.now()));
    const at = Date.now();
    const fault: InjectedFault = { kind, atMs: at - started, tookMs: 0, detail: '' };
    try {
      switch (kind) {
        case 'server-kill': {
          const instance = random.pick(cluster.instances);
          fault.detail = `instance ${instance.name}`;
          await cluster.killAndRestart(instance);
          break;
        }
        case 'postgres-restart':
          if (postgresRestarts++ % 2 === 0) {
            fault.detail = 'pg_ctl restart -m fast';
            await cluster.postgres.restart();
          } else {
            fault.detail = 'crash (SIGKILL) and start';
            await cluster.postgres.kill();
            await cluster.postgres.start();
          }
          break;
        case 'redis-restart':
          fault.detail = 'down 1 s, back empty';
          await cluster.redis!.stop();
          await sleep(1_000);
          await cluster.redis!.start();
          break;
      }
    } catch (error) {
      fault.error = (error as Error).message;
    }
    fault.tookMs = Date.now() - at;
    injected.push(fault);
  }
}
