import pretty from 'pino-pretty';
import type { DestinationStream } from 'pino';
import type { Env } from './env';

/**
 * Whether log lines are written for people: on request (LOG_FORMAT=pretty), or by default in development when
 * a terminal reads them. Anything that collects logs (production, tests, a pipe) gets one JSON object a line.
 */
export function logsArePretty(env: Pick<Env, 'LOG_FORMAT' | 'NODE_ENV'>, stdoutIsTerminal: boolean): boolean {
  if (env.LOG_FORMAT) return env.LOG_FORMAT === 'pretty';
  return env.NODE_ENV === 'development' && stdoutIsTerminal;
}

/**
 * Fastify's `logger.stream`: the caller's (tests capture lines), pino-pretty's formatter, or none, which is
 * stdout as JSON. pino-pretty runs as a stream in this thread rather than as a worker transport, because the
 * bundled server cannot resolve a transport's target module from inside dist/.
 */
export function logStreamOption(env: Env, captured: DestinationStream | undefined): { stream?: DestinationStream } {
  if (captured) return { stream: captured };
  const terminal = process.stdout.isTTY === true;
  if (!logsArePretty(env, terminal)) return {};
  return {
    // The start-up line's `startup` field repeats what its message says.
    stream: pretty({ colorize: terminal, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,startup', sync: true }),
  };
}
