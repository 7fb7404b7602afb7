import { createServer, type FixThreadServer } from './create-server';
import { EnvError, loadEnv, type Env } from './env';
import { PgliteInUse } from './pglite-lock';

/**
 * After the grace period, replies in flight are stopped and saved; this is how long those saves may take
 * before the process gives up on them (a hung database must not keep a stopping container alive forever).
 */
const SAVE_STOPPED_REPLIES_MS = 10_000;

function loadEnvOrExit(): Env {
  try {
    return loadEnv();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    process.stderr.write(`${error.message}\nFixThread server not started.\n`);
    process.exit(1);
  }
}

/** A database another process holds is a setup problem, told plainly; anything else is a crash with its stack. */
async function createServerOrExit(env: Env): Promise<FixThreadServer> {
  try {
    return await createServer({ env });
  } catch (error) {
    if (!(error instanceof PgliteInUse)) throw error;
    process.stderr.write(`${error.message}\nFixThread server not started.\n`);
    process.exit(1);
  }
}

const env = loadEnvOrExit();
const server = await createServerOrExit(env);
await server.start();

let shuttingDown = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    server.app.log.info({ signal, graceMs: env.SHUTDOWN_GRACE_MS }, 'shutting down: finishing in-flight replies');
    setTimeout(() => {
      server.app.log.error('stopped replies were not saved in time; exiting anyway');
      process.exit(1);
    }, env.SHUTDOWN_GRACE_MS + SAVE_STOPPED_REPLIES_MS).unref();
    server.stop({ graceMs: env.SHUTDOWN_GRACE_MS }).then(
      () => {
        server.app.log.info('stopped cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        server.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
