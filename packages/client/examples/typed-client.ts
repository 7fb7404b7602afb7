/**
 * Streams one message through @fixthread/client and prints the answer as it arrives (build the package
 * first: `pnpm --filter @fixthread/client build`).
 *
 *   pnpm --filter @fixthread/client exec tsx examples/typed-client.ts "My PS5 has no HDMI signal"
 *   ... --url http://127.0.0.1:8000 --token <JWT> "message"
 *
 * Without --token it signs in through the dev-mode endpoint, which exists only when the server has no
 * JWT_SECRET or JWKS_URL configured. On Node 20 the client loads `ws` for the stream by itself.
 */
import { parseArgs } from 'node:util';
import { createFixThreadClient, errorCodeOf } from '@fixthread/client';

const { values, positionals } = parseArgs({
  options: { url: { type: 'string', default: 'http://127.0.0.1:8000' }, token: { type: 'string' } },
  allowPositionals: true,
});
const message = positionals.join(' ') || 'How do I replace a cracked iPhone 12 screen?';
const token = values.token ?? (await devLogin(values.url, 'example-user'));
const client = createFixThreadClient({ url: values.url, token });

try {
  await new Promise<void>((resolve, reject) => {
    client.trpc.chat.stream.subscribe(
      { message },
      {
        onData: ({ data: event }) => {
          if (event.type === 'status') process.stderr.write(`\n[${event.content}]\n`);
          if (event.type === 'token') process.stdout.write(event.content);
          if (event.type !== 'done') return;
          const sources = event.sources.map((s) => `\n  - ${s.title}: ${s.url}`).join('');
          process.stdout.write(`\n\n(${event.thread_id}, ${event.usage.total_tokens} tokens)${sources}\n`);
        },
        onComplete: resolve,
        onError: reject,
      },
    );
  });
  const { message_count } = await client.trpc.chat.history.query({ limit: 200 });
  process.stdout.write(`The thread now holds ${message_count} messages.\n`);
} catch (error) {
  process.stderr.write(`\nFailed (${errorCodeOf(error) ?? 'no answer'}): ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await client.close();
}

async function devLogin(url: string, userId: string): Promise<string> {
  const response = await fetch(`${url}/auth/dev-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  if (!response.ok) throw new Error(`dev sign-in failed (${response.status}); pass --token <JWT> instead`);
  return ((await response.json()) as { token: string }).token;
}
