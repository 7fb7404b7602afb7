/** The REST side of sign-in; everything after it goes through tRPC. */
export type AuthMode = 'dev' | 'jwt';

export class AuthRequestError extends Error {
  override name = 'AuthRequestError';
}

async function readJson(response: Response): Promise<unknown> {
  const body: unknown = await response.json().catch(() => null);
  if (response.ok) return body;
  const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
  throw new AuthRequestError(typeof message === 'string' ? message : `The server answered ${response.status}`);
}

export async function fetchAuthMode(): Promise<AuthMode> {
  const body = (await readJson(await fetch('/auth/mode'))) as { mode?: unknown };
  return body.mode === 'dev' ? 'dev' : 'jwt';
}

export async function devLogin(userId: string): Promise<string> {
  const response = await fetch('/auth/dev-login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  const body = (await readJson(response)) as { token?: unknown };
  if (typeof body.token !== 'string') throw new AuthRequestError('The server sent no token');
  return body.token;
}
