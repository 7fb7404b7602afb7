/**
 * CPU time of other processes, from /proc (Linux): the server instances a part spawned, and the machine's
 * Postgres processes. Where /proc is missing every reading is NaN and the tables print '-'.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: /proc reports CPU in these ticks; 100 on every mainstream Linux build. */
const TICKS_PER_SECOND = 100;

/** User + system CPU ms of one process, NaN if it is gone or there is no /proc. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) is parenthesised and may hold spaces; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** pid → CPU ms of every process whose command name is `name` (e.g. every postgres backend). */
export function cpuMsByName(name: string): Map<number, number> {
  const readings = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return readings;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== name) continue;
    } catch {
      continue; // exited while we looked
    }
    const ms = processCpuMs(Number(entry));
    if (Number.isFinite(ms)) readings.set(Number(entry), ms);
  }
  return readings;
}

/**
 * CPU ms the processes named `name` used between two readings: processes started in between count in full,
 * those that exited in between are lost (Postgres backends live as long as a pool's connections).
 */
export function cpuMsBetween(before: Map<number, number>, after: Map<number, number>): number {
  if (after.size === 0) return Number.NaN;
  let total = 0;
  for (const [pid, ms] of after) total += Math.max(0, ms - (before.get(pid) ?? 0));
  return total;
}
