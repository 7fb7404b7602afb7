import { appendFileSync } from 'node:fs';

/** @type {string | undefined} */
let log;

/** @param {{ log?: string }} data */
export function initialize(data) {
  log = data.log;
}

/**
 * Records every module resolved from the `ws` package, synchronously, before the import it serves
 * completes: what the program reads afterwards is complete.
 * @param {string} specifier
 * @param {unknown} context
 * @param {(specifier: string, context: unknown) => Promise<{ url: string }>} nextResolve
 */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (log && resolved.url.includes('/node_modules/ws/')) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
}
