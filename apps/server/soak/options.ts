import { redisServerBinary } from '../test/support/private-redis';

export interface SoakOptions {
  durationMs: number;
  seed: number;
  /** Two instances sharing a private redis-server, or one instance with live events in process. */
  redis: boolean;
  users: number;
}

const USAGE = 'usage: soak [--duration=<n>s|<n>m] [--seed=<n>] [--no-redis] [--users=<n>]';

/** `90`, `90s` and `1.5m` are all 90 seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text.trim());
  if (!match) throw new Error(`--duration: expected <n>s or <n>m, got ${JSON.stringify(text)}\n${USAGE}`);
  const value = Number(match[1]);
  const ms = match[2] === 'm' ? value * 60_000 : value * 1_000;
  if (ms < 10_000) throw new Error('--duration: at least 10 s, so every fault fits');
  return ms;
}

export function parseOptions(argv: readonly string[]): SoakOptions {
  const options: SoakOptions = {
    durationMs: 5 * 60_000,
    seed: Date.now() % 2_147_483_647,
    redis: redisServerBinary() !== undefined,
    users: 4,
  };
  for (const arg of argv) {
    if (arg === '--') continue;
    const [name, value = ''] = arg.split('=', 2);
    switch (name) {
      case '--duration':
        options.durationMs = parseDuration(value);
        break;
      case '--seed':
        if (!/^\d+$/.test(value)) throw new Error(`--seed: expected a non-negative integer\n${USAGE}`);
        options.seed = Number(value);
        break;
      case '--no-redis':
        options.redis = false;
        break;
      case '--users':
        if (!/^[1-9]\d*$/.test(value)) throw new Error(`--users: expected a positive integer\n${USAGE}`);
        options.users = Number(value);
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  return options;
}
