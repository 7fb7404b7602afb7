import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pid } from 'node:process';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles the server into dist/main.js. Workspace packages (@fixthread/*) export TypeScript source, so they
 * must be bundled; so are their pure-JS dependencies. This package's own dependencies stay external and load
 * from node_modules at run time: among them PGlite, whose WebAssembly and data files are found relative to
 * its own module and would be lost in a bundle.
 */
/** @type {{ dependencies: Record<string, string> }} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- our own package.json, typed by the JSDoc above
const manifest = JSON.parse(readFileSync(join(import.meta.dirname, 'package.json'), 'utf8'));
const external = Object.keys(manifest.dependencies).filter((name) => !name.startsWith('@fixthread/'));

const result = await build({
  entryPoints: [join(import.meta.dirname, 'src/main.ts')],
  outfile: join(import.meta.dirname, 'dist/main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // `external: ['fastify']` also covers deep imports such as 'fastify/lib/x'.
  external: external.flatMap((name) => [name, `${name}/*`]),
  sourcemap: true,
  logLevel: 'warning',
  // Bundled CommonJS code calls require() for Node built-ins, which an ES module lacks.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  write: false,
});

// Each file is written beside its final name and renamed over it, so a server started while a test rebuilds
// the bundle loads either the old file or the new one, never half of one.
for (const file of result.outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  const partial = `${file.path}.${pid}.partial`;
  writeFileSync(partial, file.contents);
  renameSync(partial, file.path);
}
