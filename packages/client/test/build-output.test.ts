import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dist = join(import.meta.dirname, '..', 'dist');
const bundle = readFileSync(join(dist, 'index.js'), 'utf8');
const declarations = readdirSync(dist)
  .filter((name) => name.endsWith('.d.ts'))
  .map((name) => ({ name, text: readFileSync(join(dist, name), 'utf8') }));

/** Module specifiers of the bundle's static imports and re-exports (not `import(...)` calls). */
function staticImports(code: string): string[] {
  return [...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm)].map(
    (match) => match[1] ?? match[2]!,
  );
}

describe('the built package (dist/)', () => {
  it('imports only tRPC at load time: `ws` is not loaded where a global WebSocket exists, as in browsers', () => {
    const imports = staticImports(bundle);
    expect(imports).toContain('@trpc/client');
    expect(new Set(imports)).toEqual(new Set(['@trpc/client', '@trpc/server/observable']));
    expect(bundle).not.toMatch(/require\(\s*["']ws["']\s*\)/);
    // The one way it reaches `ws`: a dynamic import by variable, on the path taken only without a WebSocket.
    expect(bundle.match(/\bimport\(/g)).toHaveLength(1);
  });

  it('ships no TypeScript source, and declarations that name no workspace package', () => {
    expect(readdirSync(dist).filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))).toEqual([]);
    expect(declarations.map(({ name }) => name)).toContain('index.d.ts');
    for (const { name, text } of declarations) {
      expect(text, name).not.toMatch(/@fixthread\/|\bzod\b|drizzle|fastify/);
    }
  });

  it('declares the router with its procedures written out', () => {
    const router = declarations.find(({ name }) => name === 'app-router.d.ts')!.text;
    expect(router).toMatch(/stream: TRPCSubscriptionProcedure<\{\s+input: \{\s+message: string;/);
    expect(router).toContain('role: "user" | "assistant";');
    // An upload's input is the runtime's FormData, not a copy of its members.
    expect(router).toMatch(/upload: TRPCMutationProcedure<\{\s+input: FormData;/);
    // The server's context (its engine, store and database) is none of a client's business.
    expect(router).toContain('ctx: object;');
  });
});
