import type { AttemptContext } from './attempt-context';
import { failureOf } from './attempt-context';
import type { Attempt } from './send-record';

const json = (token: string, key?: string) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  ...(key ? { 'idempotency-key': key } : {}),
});

/** `503 DATABASE_UNAVAILABLE`: the status and the error body's code, the same for every REST route. */
export async function errorCode(response: Response): Promise<string> {
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: unknown } } | undefined;
  const code = body?.error?.code;
  return `${response.status}${typeof code === 'string' ? ` ${code}` : ''}`;
}

/** POST /chat: acknowledged only by a 200 carrying the answer. */
export async function restAttempt(context: AttemptContext, kind: Attempt['kind']): Promise<Attempt> {
  const attempt: Attempt = {
    transport: 'rest',
    instance: context.instance.name,
    kind,
    outcome: 'broken',
    text: '',
  };
  const deadline = AbortSignal.timeout(context.deadlineMs);
  try {
    const response = await fetch(`${context.instance.url}/chat`, {
      method: 'POST',
      headers: json(context.token, context.question.key),
      body: JSON.stringify({ message: context.question.message }),
      signal: AbortSignal.any([context.drop, deadline]),
    });
    if (response.status !== 200) return { ...attempt, outcome: 'refused', error: await errorCode(response) };
    const body = (await response.json()) as { response: string };
    return { ...attempt, outcome: 'acked', text: body.response };
  } catch {
    return { ...attempt, outcome: failureOf(context, deadline) };
  }
}

/** POST /chat/stop for the user's default thread, on any instance; false when the request failed. */
export async function restStop(instanceUrl: string, token: string): Promise<boolean> {
  try {
    const response = await fetch(`${instanceUrl}/chat/stop`, {
      method: 'POST',
      headers: json(token),
      body: '{}',
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
