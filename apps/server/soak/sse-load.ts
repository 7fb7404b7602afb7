import { parseEventId, type DoneEvent, type TurnEvent } from '@fixthread/core';
import { parseSseEvents } from '@fixthread/testing';
import { failureOf, type AttemptContext, type ResumePoint } from './attempt-context';
import { errorCode } from './rest-load';
import type { Attempt } from './send-record';

type WireEvent = TurnEvent | { type: 'error'; content: string; code: string };

/**
 * POST /chat/stream, or with `resume` GET /chat/stream/:turnId after its Last-Event-ID. Acknowledged only by
 * the `done` event; its text is every token delivered, the resumed-from part included.
 */
export async function sseAttempt(
  context: AttemptContext,
  kind: Attempt['kind'],
  resume?: ResumePoint,
): Promise<Attempt> {
  const attempt: Attempt = {
    transport: 'sse',
    instance: context.instance.name,
    kind,
    outcome: 'broken',
    text: resume?.text ?? '',
    turnId: resume?.turnId,
    lastEventId: resume?.lastEventId,
  };
  const deadline = AbortSignal.timeout(context.deadlineMs);
  const headers: Record<string, string> = { authorization: `Bearer ${context.token}` };
  let tokens = 0;
  try {
    const response = resume
      ? await fetch(`${context.instance.url}/chat/stream/${resume.turnId}`, {
          headers: { ...headers, 'last-event-id': resume.lastEventId },
          signal: AbortSignal.any([context.drop, deadline]),
        })
      : await fetch(`${context.instance.url}/chat/stream`, {
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            'idempotency-key': context.question.key,
          },
          body: JSON.stringify({ message: context.question.message }),
          signal: AbortSignal.any([context.drop, deadline]),
        });
    if (response.status !== 200 || !response.body) {
      return { ...attempt, outcome: 'refused', error: await errorCode(response) };
    }
    for await (const { id, data } of parseSseEvents(response.body)) {
      const event = JSON.parse(data) as WireEvent;
      const parsed = id ? parseEventId(id) : undefined;
      if (parsed) {
        attempt.turnId = parsed.turnId;
        attempt.lastEventId = id;
      }
      if (event.type === 'token') {
        attempt.text += event.content;
        context.onToken?.(++tokens);
      } else if (event.type === 'done') {
        return { ...attempt, outcome: 'acked', done: event satisfies DoneEvent };
      } else if (event.type === 'error') {
        return { ...attempt, outcome: 'refused', error: event.code };
      }
    }
    return attempt;
  } catch {
    return { ...attempt, outcome: failureOf(context, deadline) };
  }
}
