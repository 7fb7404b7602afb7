import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB_DIST = join(WEB_ROOT, 'dist');

function newestMtime(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

function distIsCurrent(): boolean {
  const index = join(WEB_DIST, 'index.html');
  if (!existsSync(index)) return false;
  const built = statSync(index).mtimeMs;
  return [join(WEB_ROOT, 'src'), join(WEB_ROOT, 'index.html'), join(WEB_ROOT, 'public'), join(WEB_ROOT, 'vite.config.ts')].every(
    (path) => !existsSync(path) || newestMtime(path) <= built,
  );
}

/**
 * The server serves apps/web/dist, so the browser tests what was built. turbo's test task builds first; run
 * directly (or after an edit), the bundle is rebuilt here so a stale or missing dist can't be tested by mistake.
 */
export async function ensureWebDist(): Promise<void> {
  if (distIsCurrent()) return;
  console.info('[e2e] apps/web/dist is missing or older than src/: running vite build');
  // Vitest sets NODE_ENV=test, which would bundle React's development build.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: WEB_ROOT, configFile: join(WEB_ROOT, 'vite.config.ts'), mode: 'production', logLevel: 'warn' });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  if (!existsSync(join(WEB_DIST, 'index.html'))) throw new Error(`vite build did not produce ${WEB_DIST}/index.html`);
}
