import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The committed drizzle-kit migrations live at the workspace root. Walking up from this module works both
 * from source and from the server's bundled `dist/`, which sit at different depths.
 */
export function migrationsDir(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'drizzle');
    if (existsSync(join(candidate, 'meta', '_journal.json'))) return (cached = candidate);
    const parent = dirname(dir);
    if (parent === dir) throw new Error('drizzle/ migrations folder not found above ' + import.meta.url);
    dir = parent;
  }
}
