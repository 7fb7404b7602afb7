/** A constructor shaped like the browser's WebSocket: the global one, or the `ws` package's. */
export interface WebSocketImplementation {
  new (url: string, protocols?: string | string[]): object;
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly CLOSING: number;
  readonly CLOSED: number;
}

/** The runtime's own WebSocket (browsers, Node 22+), if it has one. */
export function globalWebSocket(): WebSocketImplementation | undefined {
  return (globalThis as { WebSocket?: WebSocketImplementation }).WebSocket;
}

/**
 * Node 20 has no global WebSocket, so there the `ws` package (an optional dependency) is loaded when a
 * subscription first needs a socket. The specifier is a variable so that bundlers leave `ws`, and its
 * browser stub, out of browser builds, where the global WebSocket is used and this never runs.
 */
export async function loadWsPackage(): Promise<WebSocketImplementation> {
  const specifier = 'ws';
  let loaded: { WebSocket?: WebSocketImplementation; default?: WebSocketImplementation };
  try {
    loaded = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as typeof loaded;
  } catch (cause) {
    throw new Error(
      'This runtime has no global WebSocket (Node 20) and the `ws` package could not be loaded: install `ws`, or pass a WebSocket implementation to createFixThreadClient({ WebSocket }).',
      { cause },
    );
  }
  const implementation = loaded.WebSocket ?? loaded.default;
  if (!implementation) throw new Error('The `ws` package loaded but exports no WebSocket class.');
  return implementation;
}
