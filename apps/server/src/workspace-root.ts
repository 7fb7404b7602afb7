import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The monorepo root (the folder holding pnpm-workspace.yaml). Defaults such as `.data` and the web client's
 * `dist` are anchored here so they are the same whether the server runs from `src/` via tsx, from the bundled
 * `dist/main.js`, or with any working directory. Outside a checkout (a copied bundle) the working directory
 * stands in.
 */
export function workspaceRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  return findUp(from) ?? findUp(process.cwd()) ?? process.cwd();
}

function findUp(start: string): string | undefined {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
