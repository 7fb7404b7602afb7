import type { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { TooManySubscriptions } from './limit-errors';

/** RFC 6455 §7.4.1 "policy violation": what a socket that never authenticated is closed with. */
export const CLOSE_AUTH_TIMEOUT = 1008;
export const AUTH_TIMEOUT_REASON = 'Not authenticated in time';

export interface WebSocketLimitOptions {
  authTimeoutMs: number;
  maxSubscriptions: number;
}

/** The subscriptions one WebSocket has in flight; tRPC creates one context, and so one of these, per socket. */
export class SubscriptionSlots {
  private open = 0;

  constructor(private readonly max: number) {}

  /** Throws TooManySubscriptions when the socket is full; otherwise call the returned function once it ends. */
  take(): () => void {
    if (this.open >= this.max) throw new TooManySubscriptions(this.max);
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
    };
  }
}

/**
 * Per-connection limits on the tRPC WebSocket. A socket must authenticate (a valid token in connectionParams
 * or the upgrade's Authorization header) within `authTimeoutMs`, or it is closed: otherwise anyone could hold
 * sockets, and their memory, without a token. A socket whose token was refused stays open until then too, so
 * its client reads UNAUTHORIZED rather than a bare close.
 */
export class WebSocketLimits {
  private readonly deadlines = new WeakMap<WebSocket, NodeJS.Timeout>();

  constructor(private readonly options: WebSocketLimitOptions) {}

  watch(server: WebSocketServer): void {
    server.on('connection', (socket) => {
      const deadline = setTimeout(() => socket.close(CLOSE_AUTH_TIMEOUT, AUTH_TIMEOUT_REASON), this.options.authTimeoutMs);
      this.deadlines.set(socket, deadline);
      socket.once('close', () => clearTimeout(deadline));
    });
  }

  authenticated(socket: WebSocket): void {
    clearTimeout(this.deadlines.get(socket));
    this.deadlines.delete(socket);
  }

  subscriptionSlots(): SubscriptionSlots {
    return new SubscriptionSlots(this.options.maxSubscriptions);
  }
}

/** Passes every value of `source` on and releases the slot when the subscription ends, however it ends. */
export async function* releasedWhenDone<T>(source: AsyncIterable<T>, release: () => void): AsyncGenerator<T, void, undefined> {
  try {
    yield* source;
  } finally {
    release();
  }
}
