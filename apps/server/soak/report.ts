import type { UnexpectedExit } from './cluster';
import type { FaultKind, InjectedFault } from './fault-injector';
import type { SoakOptions } from './options';
import { acksOf, type SendRecord } from './send-record';
import type { Verdict } from './verifier';

export interface SoakOutcome {
  options: SoakOptions;
  instances: number;
  records: readonly SendRecord[];
  faults: readonly InjectedFault[];
  stops: number;
  crashes: readonly UnexpectedExit[];
  settled: boolean;
  verdict: Verdict;
}

const FAULT_NAMES: Record<FaultKind, string> = {
  'server-kill': 'server SIGKILL+restart',
  'postgres-restart': 'Postgres restart',
  'redis-restart': 'Redis restart',
};
const SHOWN = 10;

const counts = <K extends string>(items: readonly K[]) => {
  const result = new Map<K, number>();
  for (const item of items) result.set(item, (result.get(item) ?? 0) + 1);
  return result;
};
const list = (map: Map<string, number>) => [...map].map(([name, n]) => `${name} ${n}`).join(', ');

/** The failed checks, one line each; empty when the soak passed. */
export function failures(outcome: SoakOutcome): string[] {
  const { verdict } = outcome;
  const failed: string[] = [];
  const add = (name: string, problems: readonly string[]) => {
    if (problems.length > 0)
      failed.push(`${name}: ${problems.length}`, ...problems.slice(0, SHOWN).map((p) => `  ${p}`));
  };
  add('lost', verdict.lost);
  add('duplicated', verdict.duplicated);
  add('interleavings', verdict.interleavings);
  add('acknowledgements differing from the database', verdict.mismatched);
  add('turns left unfinished', verdict.unfinished);
  add(
    'server crashes',
    outcome.crashes.map(
      (c) => `instance ${c.instance} exited ${JSON.stringify(c.exit)}:\n    ${c.lastLines.join('\n    ')}`,
    ),
  );
  add(
    'faults that failed',
    outcome.faults.filter((f) => f.error).map((f) => `${f.kind} (${f.detail}): ${f.error}`),
  );
  add(
    'ledger ≠ user_usage',
    verdict.ledger
      .filter((l) => l.ledger !== l.usage)
      .map((l) => `${l.user}: ledger ${l.ledger}, user_usage ${l.usage}`),
  );
  if (!outcome.settled) failed.push('turns did not settle within the deadline');
  return failed;
}

/** The closing figures, as printed; the soak test reads these lines. */
export function report(outcome: SoakOutcome): string {
  const { options, records, verdict } = outcome;
  const attempts = records.flatMap((record) => record.attempts);
  const acked = records.filter((record) => acksOf(record).length > 0);
  const firstAck = counts(acked.map((record) => acksOf(record)[0]!.transport));
  const outcomes = counts(attempts.map((a) => a.outcome));
  const faults = counts(outcome.faults.map((f) => f.kind));
  const refusals = counts(attempts.filter((a) => a.outcome === 'refused').map((a) => a.error ?? '?'));
  const failed = failures(outcome);
  const lines = [
    `FixThread soak: ${options.durationMs / 1000} s, seed ${options.seed}, ${outcome.instances} instance(s)${options.redis ? ' sharing Redis' : ', no Redis'}, ${options.users} users × 2 tabs`,
    `turns: ${Object.values(verdict.turnsByStatus).reduce((a, b) => a + b, 0)} (${list(new Map(Object.entries(verdict.turnsByStatus)))})`,
    `questions: ${records.length} asked, ${acked.length} acknowledged (first by ${list(firstAck)}), ${attempts.filter((a) => a.kind === 'replay').length} replayed by key`,
    `requests: ${attempts.length} (${list(outcomes)}), ${attempts.filter((a) => a.kind === 'resume').length} resumes; refusals ${list(refusals) || 'none'}`,
    `faults injected: ${Object.entries(FAULT_NAMES)
      .filter(([kind]) => options.redis || kind !== 'redis-restart')
      .map(([kind, name]) => `${name} ${faults.get(kind as FaultKind) ?? 0}`)
      .join(', ')}, client drops ${outcomes.get('dropped') ?? 0}, stops ${outcome.stops}`,
    `lost ${verdict.lost.length}`,
    `duplicated ${verdict.duplicated.length}`,
    `interleavings ${verdict.interleavings.length}`,
    `acknowledgements differing from the database ${verdict.mismatched.length}`,
    `turns left unfinished ${verdict.unfinished.length}`,
    `server crashes ${outcome.crashes.length}`,
    ...verdict.ledger.map(
      (l) => `ledger ${l.user}: sum ${l.ledger} ${l.ledger === l.usage ? '=' : '≠'} user_usage ${l.usage}`,
    ),
    ...(failed.length > 0 ? ['', 'FAILED', ...failed] : ['', 'PASSED']),
  ];
  return lines.join('\n');
}
