import type { TurnEvent } from '@fixthread/core';
import { TRPCClientError } from '@trpc/client';
import WebSocket from 'ws';
import { createFixThreadClient, type AppRouter, type FixThreadClient } from '../../src/client';

/** The documented client, with the `ws` package standing in for the WebSocket Node 20 lacks. */
export function connect(url: string, token: string | (() => Promise<string>)): FixThreadClient {
  return createFixThreadClient({ url, token, WebSocket });
}

export interface SubscriptionOutcome {
  events: TurnEvent[];
  ids: string[];
  error?: TRPCClientError<AppRouter>;
}

/** Subscribes to chat.stream and resolves when the server completes or fails the subscription. */
export function streamViaTrpc(client: FixThreadClient, message: string, onEvent?: (event: TurnEvent) => void): Promise<SubscriptionOutcome> {
  return new Promise((resolve) => {
    const outcome: SubscriptionOutcome = { events: [], ids: [] };
    const subscription = client.trpc.chat.stream.subscribe(
      { message },
      {
        onData: ({ id, data }) => {
          outcome.ids.push(id);
          outcome.events.push(data);
          onEvent?.(data);
        },
        onError: (error) => {
          outcome.error = error instanceof TRPCClientError ? error : undefined;
          subscription.unsubscribe();
          resolve(outcome);
        },
        onComplete: () => resolve(outcome),
      },
    );
  });
}
