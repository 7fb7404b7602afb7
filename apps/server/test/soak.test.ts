import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postgresBinDir } from './support/private-postgres';
import { redisServerBinary } from './support/private-redis';

/**
 * CI's soak: `pnpm soak --duration=60s` (apps/server/soak) as its own process, exactly as run by hand. It
 * exits 0 only if every acknowledged message and `done` matches the database; this reads its closing figures
 * too, so a run that injected no faults (or never used a transport) cannot pass by doing nothing.
 * SOAK_SEED replays a run's choices (the seed is printed).
 */

const serverDir = join(import.meta.dirname, '..');
const required = Boolean(process.env.REQUIRE_E2E);
const binDir = postgresBinDir(process.env.PG_BIN_DIR);
const withRedis = redisServerBinary(process.env.REDIS_SERVER) !== undefined;
if (!binDir && !required) {
  console.warn(
    'soak.test.ts skipped: no PostgreSQL binaries in /usr/lib/postgresql/*/bin (REQUIRE_E2E=1 makes this a failure)',
  );
}

function runSoak(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(serverDir, 'node_modules/.bin/tsx'), ['soak/main.ts', ...args], {
      cwd: serverDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const figure = (output: string, pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? Number.NaN);

describe.skipIf(!binDir && !required)('the soak', () => {
  it(
    'loses, duplicates and interleaves nothing over 60 s of load and faults, and the ledger matches user_usage',
    { timeout: 240_000 },
    async () => {
      if (required)
        expect(withRedis, 'REQUIRE_E2E: redis-server is needed for the two-instance soak').toBe(true);
      const seed = process.env.SOAK_SEED ? [`--seed=${process.env.SOAK_SEED}`] : [];
      const { code, output } = await runSoak(['--duration=60s', ...seed]);
      const context = `soak output:\n${output}`;

      expect(output, context).toMatch(/^PASSED$/m);
      expect(code, context).toBe(0);
      for (const line of [
        'lost 0',
        'duplicated 0',
        'interleavings 0',
        'acknowledgements differing from the database 0',
        'turns left unfinished 0',
        'server crashes 0',
      ]) {
        expect(output, context).toMatch(new RegExp(`^${line}$`, 'm'));
      }

      expect(figure(output, /server SIGKILL\+restart (\d+)/), context).toBeGreaterThanOrEqual(1);
      expect(figure(output, /Postgres restart (\d+)/), context).toBeGreaterThanOrEqual(1);
      if (withRedis) expect(figure(output, /Redis restart (\d+)/), context).toBeGreaterThanOrEqual(1);
      expect(figure(output, /client drops (\d+)/), context).toBeGreaterThanOrEqual(1);
      expect(figure(output, /stops (\d+)/), context).toBeGreaterThanOrEqual(1);

      const acknowledged = /first by ([^)]*)\)/.exec(output)?.[1] ?? '';
      for (const transport of ['rest', 'sse', 'trpc-stream', 'trpc-send']) {
        expect(acknowledged, context).toMatch(new RegExp(`\\b${transport} [1-9]`));
      }
      expect(figure(output, /^turns: (\d+)/m), context).toBeGreaterThan(0);
      const ledger = output.split('\n').filter((line) => line.startsWith('ledger '));
      expect(ledger.length, context).toBeGreaterThanOrEqual(4);
      for (const line of ledger) expect(line, context).toMatch(/: sum (\d+) = user_usage \1$/);
    },
  );
});
