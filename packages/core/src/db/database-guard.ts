import { SpanKind } from '@opentelemetry/api';
import { DatabaseUnavailable } from '../errors';
import { inSpan } from '../tracing';

/**
 * Errors that mean "the database is not reachable right now", as opposed to a bad query: socket errors,
 * postgres.js's own connection codes, and the SQLSTATEs a restarting or overloaded server answers with (class
 * 08 connection exception, 57P01–57P03 shutdown/starting up, 53300 too many connections). Not CONNECTION_ENDED:
 * that is our own pool, closed on purpose, which is a bug to report as one rather than an outage.
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

export function isDatabaseUnreachable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 8) return false;
  if (error instanceof DatabaseUnavailable) return true;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) return true;
  // Node reports a failed connect to several addresses (localhost's ::1 and 127.0.0.1) as an AggregateError.
  if (Array.isArray(errors) && errors.some((inner) => isDatabaseUnreachable(inner, depth + 1))) return true;
  return isDatabaseUnreachable(cause, depth + 1);
}

/**
 * `name` says what the work is (`finish_turn`); named work is traced as a span. The turn's event writes stay
 * unnamed: they come as often as tokens do, and a trace needs none of them.
 */
export type DatabaseGuard = <T>(operation: () => Promise<T>, name?: string) => Promise<T>;

/** How much longer than the deadline work may take while the database keeps answering other work. */
const BUSY_GRACE_FACTOR = 10;

/**
 * Runs database work so that an outage answers quickly and as a typed error: connection failures become
 * DatabaseUnavailable, and with a deadline, so does work that has not answered in time (a connection stuck in
 * connect, a server that stopped responding). The late work is not cancelled; its outcome is ignored.
 *
 * Slow is not down: work past its deadline keeps waiting while other work on the same guard is still being
 * answered (a busy pool, a loaded machine), checked every quarter deadline, up to ten deadlines. Only when
 * nothing has been answered for a whole deadline is the database reported unavailable, so an outage is still
 * reported within 1.25 deadlines of it starting, and a busy database no longer answers 503s.
 */
export function createDatabaseGuard(
  deadlineMs: number | null,
  /** Told as each operation starts; the function it returns, as it settles (the server's in-flight gauge). */
  operationStarted: () => () => void = () => () => {},
): DatabaseGuard {
  // The last time the database answered anything: a result, or an error that is not an outage.
  let answeredAt = 0;
  const heard = () => {
    answeredAt = performance.now();
  };
  const guarded = async <T>(operation: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const work = operation();
    void work.then(heard, (error: unknown) => {
      if (!isDatabaseUnreachable(error)) heard();
    });
    if (deadlineMs === null) return translate(work);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      const check = () => {
        const now = performance.now();
        const alive = answeredAt > now - deadlineMs;
        if (alive && now - started < deadlineMs * BUSY_GRACE_FACTOR) {
          timer = setTimeout(check, deadlineMs / 4);
          return;
        }
        reject(new DatabaseUnavailable('The database did not answer in time. Please try again shortly.'));
      };
      timer = setTimeout(check, deadlineMs);
    });
    try {
      return await Promise.race([translate(work), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
  return async (operation, name) => {
    const settled = operationStarted();
    try {
      if (name === undefined) return await guarded(operation);
      const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': name };
      return await inSpan(`db ${name}`, { kind: SpanKind.CLIENT, attributes }, () => guarded(operation));
    } finally {
      settled();
    }
  };
}

async function translate<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (isDatabaseUnreachable(error) && !(error instanceof DatabaseUnavailable)) {
      throw new DatabaseUnavailable(undefined, { cause: error });
    }
    throw error;
  }
}
