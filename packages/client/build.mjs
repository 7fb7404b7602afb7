import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { build } from 'esbuild';
import ts from 'typescript';

/**
 * dist/index.js: the package's own code as one ES module; @trpc/* stay imports (dependencies), and `ws` is
 * imported only at run time, by name. dist/*.d.ts: this package's declarations alone. The program also holds
 * the server's and core's sources (the router type is read from them), but only src/ is emitted, and the
 * build fails if a declaration still names a module that an installed package can't resolve.
 */
const root = import.meta.dirname;
const src = join(root, 'src');
const dist = join(root, 'dist');
const ALLOWED_IMPORTS = /^(\.\/[\w-]+\.js|@trpc\/client|@trpc\/server(\/[\w-]+)?)$/;

rmSync(dist, { recursive: true, force: true });

await build({
  entryPoints: [join(src, 'index.ts')],
  outfile: join(dist, 'index.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]),
});
if (!config) throw new Error('tsconfig.json could not be read');
const sources = readdirSync(src)
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
  .map((name) => join(src, name));
const program = ts.createProgram({
  rootNames: sources,
  options: { ...config.options, noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: dist },
});
const own = program.getSourceFiles().filter((file) => sources.includes(file.fileName));
fail([
  ...program.getGlobalDiagnostics(),
  ...own.flatMap((file) => [
    ...program.getSyntacticDiagnostics(file),
    ...program.getSemanticDiagnostics(file),
    ...program.getDeclarationDiagnostics(file),
  ]),
]);

mkdirSync(dist, { recursive: true });
for (const file of own) {
  const result = program.emit(file, (_name, text) => {
    const out = join(dist, relative(src, file.fileName).replace(/\.ts$/, '.d.ts'));
    checkImports(out, text);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
  }, undefined, true);
  fail(result.diagnostics);
}

/**
 * Every module a declaration names must resolve where the package is installed: itself, or a dependency.
 * @param {string} file
 * @param {string} text
 */
function checkImports(file, text) {
  const specifiers = [...text.matchAll(/(?:from\s+|import\()\s*['"]([^'"]+)['"]/g)].map((match) => /** @type {string} */ (match[1]));
  const stray = specifiers.filter((specifier) => !ALLOWED_IMPORTS.test(specifier));
  if (stray.length > 0) {
    throw new Error(`${relative(root, file)} would import ${stray.join(', ')}, which an installed @fixthread/client can't resolve`);
  }
}

/** @param {readonly ts.Diagnostic[]} diagnostics */
function fail(diagnostics) {
  if (diagnostics.length === 0) return;
  /** @type {ts.FormatDiagnosticsHost} */
  const host = { getCanonicalFileName: (name) => name, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  process.exit(1);
}

// Read back what was written, so a declaration that failed to emit is an error here, not in a consumer.
for (const name of ['index.js', 'index.d.ts']) readFileSync(join(dist, name));
