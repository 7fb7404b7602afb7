import { createServer } from './create-server';
import { EnvError, loadEnv, type Env } from './env';

/** A turn waiting on a hung provider must not keep a stopping container alive forever. */
const SHUTDOWN_GRACE_MS = 30_000;

function loadEnvOrExit(): Env {
  try {
    return loadEnv();
  } catch (error) {
    if (!(error instanceof EnvError)) throw error;
    process.stderr.write(`${error.message}\nFixThread server not started.\n`);
    process.exit(1);
  }
}

const env = loadEnvOrExit();
const server = await createServer({ env });
await server.start();

let shuttingDown = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    server.app.log.info({ signal }, 'shutting down: finishing in-flight replies');
    setTimeout(() => {
      server.app.log.error('in-flight replies did not finish in time; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    server.stop().then(
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
