/**
 * The production bundle (apps/server/dist/main.js) that multi-instance parts start with startBundle: built
 * with build.mjs when it is missing or older than any source it is bundled from (this package's src, the
 * workspace packages it bundles, the build script and manifests).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from '../../src/workspace-root';

const serverDir = join(import.meta.dirname, '..', '..');
const root = workspaceRoot();
export const BUNDLE = join(serverDir, 'dist', 'main.js');

/** What dist/main.js is made of; node_modules are external or pinned by the lockfile. */
const SOURCES = [
  join(serverDir, 'src'),
  join(serverDir, 'build.mjs'),
  join(serverDir, 'package.json'),
  join(root, 'packages', 'core', 'src'),
  join(root, 'packages', 'core', 'package.json'),
  join(root, 'pnpm-lock.yaml'),
];

function newestMtime(path: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a deleted file shows as its directory's mtime
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Builds the bundle unless it is newer than all its sources; says which it did. */
export function ensureBundle(): 'built' | 'up to date' {
  const bundled = newestMtime(BUNDLE);
  if (bundled > 0 && bundled >= Math.max(...SOURCES.map(newestMtime))) return 'up to date';
  execFileSync(process.execPath, ['build.mjs'], { cwd: serverDir, stdio: 'pipe' });
  return 'built';
}
