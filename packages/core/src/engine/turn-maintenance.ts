import type { DatabaseGuard } from '../db/database-guard';
import type { Db } from '../db/db';
import { sweepUnsentAttachments } from '../store/attachments';
import { releaseStaleReservations } from '../store/daily-usage';
import { pruneFinishedTurns, recoverAbandonedTurns, recoverExpiredTurns, renewLeases } from '../store/turns';
import type { TurnRegistry } from './turn-registry';

export interface TurnTiming {
  /** How long a turn stays owned without renewal: an instance dead this long has its turns recovered. */
  leaseMs: number;
  renewMs: number;
  /** How often this instance looks for turns of dead instances. */
  sweepMs: number;
  /** How often a reader polls a turn that runs in another process, and a queued turn retries its thread. */
  pollMs: number;
}

/** A dead instance's turns are marked interrupted within lease + sweep: 8 s. */
export const DEFAULT_TURN_TIMING: TurnTiming = { leaseMs: 6_000, renewMs: 2_000, sweepMs: 2_000, pollMs: 100 };

/** Idempotency keys (and the events of finished turns) are kept at least this long. */
const KEEP_FINISHED_TURNS_MS = 25 * 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Photos uploaded but never sent are deleted after a day: time enough to finish writing the message. */
const KEEP_UNSENT_PHOTOS_MS = 24 * 60 * 60 * 1000;

/**
 * The background work of durable turns: renewing this instance's leases, recovering the turns of instances
 * that died (once at start-up, then on a timer), letting go of turns past the idempotency window, and
 * deleting photos uploaded a day ago and never sent.
 * Failures are left for the next tick: the database may be down, and every step is safe to repeat.
 */
export function startTurnMaintenance(deps: {
  db: Db;
  guard: DatabaseGuard;
  owner: string;
  registry: TurnRegistry;
  timing: TurnTiming;
  /** DAILY_TOKEN_QUOTA is on: reservations left by a process that died before its turn began are released. */
  sweepReservations?: boolean;
}): { stop(): void } {
  const { db, guard, owner, registry, timing } = deps;
  const quietly = (work: () => Promise<unknown>) => () => void registry.track(guard(work)).catch(() => {});
  const renew = quietly(async () => {
    const { stopRequested } = await renewLeases(db, owner, registry.ids(), timing.leaseMs);
    for (const id of stopRequested) registry.get(id)?.controller.abort();
  });
  const recover = quietly(async () => {
    registry.recovered(await recoverAbandonedTurns(db, registry.abandoned()));
    await recoverExpiredTurns(db, registry.ids());
    if (deps.sweepReservations) await releaseStaleReservations(db, timing.leaseMs);
  });
  const prune = quietly(() => pruneFinishedTurns(db, KEEP_FINISHED_TURNS_MS));
  const sweep = quietly(() => sweepUnsentAttachments(db, new Date(Date.now() - KEEP_UNSENT_PHOTOS_MS)));
  recover();
  const timers = [
    setInterval(renew, timing.renewMs),
    setInterval(recover, timing.sweepMs),
    setInterval(prune, PRUNE_EVERY_MS),
    setInterval(sweep, PRUNE_EVERY_MS),
  ];
  for (const timer of timers) timer.unref();
  return {
    stop: () => {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
