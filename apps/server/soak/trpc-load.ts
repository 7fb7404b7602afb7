import type { DoneEvent } from '@fixthread/core';
import { TRPCClientError } from '@trpc/client';
import WebSocket from 'ws';
import { createFixThreadClient, type FixThreadClient } from '../src/client';
import { failureOf, type AttemptContext, type ResumePoint } from './attempt-context';
import type { Attempt } from './send-record';

/**
 * A tab's tRPC client for one request. wsLink reconnects after a broken socket and re-subscribes with the
 * last event id, as a browser tab does, so a restart mid-stream is resumed by the client library itself.
 */
function connect(url: string, token: string): FixThreadClient {
  return createFixThreadClient({ url, token, WebSocket, webSocketOptions: { retryDelayMs: () => 300 } });
}

/** wsClient.close() waits for the socket; one still retrying a dead server must not hold the tab up. */
async function close(client: FixThreadClient): Promise<void> {
  await Promise.race([client.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2_000))]);
}

function codeOf(error: unknown): string | undefined {
  return error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined;
}

/** chat.stream over the WebSocket, or with `resume` the same subscription after `lastEventId`; acknowledged by `done`. */
export async function trpcStreamAttempt(
  context: AttemptContext,
  kind: Attempt['kind'],
  resume?: ResumePoint,
): Promise<Attempt> {
  const attempt: Attempt = {
    transport: 'trpc-stream',
    instance: context.instance.name,
    kind,
    outcome: 'broken',
    text: resume?.text ?? '',
    turnId: resume?.turnId,
    lastEventId: resume?.lastEventId,
  };
  const client = connect(context.instance.url, context.token);
  const deadline = AbortSignal.timeout(context.deadlineMs);
  let tokens = 0;
  try {
    return await new Promise<Attempt>((resolve) => {
      const subscription = client.trpc.chat.stream.subscribe(
        {
          message: context.question.message,
          clientMessageId: context.question.key,
          lastEventId: resume?.lastEventId,
        },
        {
          onData: ({ id, data }) => {
            attempt.lastEventId = id;
            attempt.turnId = id.split(':')[0];
            if (data.type === 'token') {
              attempt.text += data.content;
              context.onToken?.(++tokens);
            } else if (data.type === 'done') {
              finish({ ...attempt, outcome: 'acked', done: data satisfies DoneEvent });
            }
          },
          onError: (error) => {
            const code = codeOf(error);
            finish(
              code
                ? { ...attempt, outcome: 'refused', error: code }
                : { ...attempt, outcome: 'broken', error: error.message },
            );
          },
          onComplete: () => finish(attempt),
        },
      );
      const giveUp = () => finish({ ...attempt, outcome: failureOf(context, deadline) });
      context.drop.addEventListener('abort', giveUp, { once: true });
      deadline.addEventListener('abort', giveUp, { once: true });
      let finished = false;
      function finish(result: Attempt) {
        if (finished) return;
        finished = true;
        context.drop.removeEventListener('abort', giveUp);
        deadline.removeEventListener('abort', giveUp);
        subscription.unsubscribe();
        resolve(result);
      }
    });
  } finally {
    await close(client);
  }
}

/** chat.send over HTTP: acknowledged by its result, the whole answer. */
export async function trpcSendAttempt(context: AttemptContext, kind: Attempt['kind']): Promise<Attempt> {
  const attempt: Attempt = {
    transport: 'trpc-send',
    instance: context.instance.name,
    kind,
    outcome: 'broken',
    text: '',
  };
  const client = connect(context.instance.url, context.token);
  const deadline = AbortSignal.timeout(context.deadlineMs);
  try {
    const result = await client.trpc.chat.send.mutate(
      { message: context.question.message, clientMessageId: context.question.key },
      { signal: AbortSignal.any([context.drop, deadline]) },
    );
    return { ...attempt, outcome: 'acked', text: result.response };
  } catch (error) {
    const code = codeOf(error);
    if (code && !context.drop.aborted && !deadline.aborted)
      return { ...attempt, outcome: 'refused', error: code };
    return { ...attempt, outcome: failureOf(context, deadline) };
  }
}

/** chat.stop for the user's default thread; false when the request failed. */
export async function trpcStop(instanceUrl: string, token: string): Promise<boolean> {
  const client = connect(instanceUrl, token);
  try {
    await client.trpc.chat.stop.mutate(undefined, { signal: AbortSignal.timeout(10_000) });
    return true;
  } catch {
    return false;
  } finally {
    await close(client);
  }
}
