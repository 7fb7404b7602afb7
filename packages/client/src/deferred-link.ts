import { TRPCClientError, type OperationLink, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable, type Unsubscribable } from '@trpc/server/observable';

/**
 * A link made on first use by an async step (loading `ws`), so that a client that never subscribes never
 * takes that step. Later operations reuse the link; a failed step is tried again by the next operation.
 */
export function deferredLink<TRouter extends AnyRouter>(create: () => Promise<TRPCLink<TRouter>>): TRPCLink<TRouter> {
  return (runtime) => {
    let ready: Promise<OperationLink<TRouter>> | undefined;
    const operationLink = () =>
      (ready ??= create().then(
        (link) => link(runtime),
        (error: unknown) => {
          ready = undefined;
          throw error;
        },
      ));
    return (operation) =>
      observable((observer) => {
        let inner: Unsubscribable | undefined;
        let stopped = false;
        void operationLink().then(
          (link) => {
            if (!stopped) inner = link(operation).subscribe(observer);
          },
          (cause: unknown) => {
            if (!stopped) observer.error(TRPCClientError.from(cause instanceof Error ? cause : new Error(String(cause))));
          },
        );
        return () => {
          stopped = true;
          inner?.unsubscribe();
        };
      });
  };
}
