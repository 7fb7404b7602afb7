/** A window's count for one key, and how long until the window ends. */
export interface WindowCount {
  count: number;
  resetInMs: number;
}

/**
 * Fixed-window request counts, shared by every instance when backed by Redis. `null` means the store could
 * not answer (Redis down or slow): callers let the request through rather than fail or hang it.
 */
export interface RequestCounter {
  /** Counts one request for `key`; a key's first request opens a window of `windowMs`. */
  hit(key: string, windowMs: number): Promise<WindowCount | null>;
  /** The current window's count without adding to it; zero when no window is open. */
  peek(key: string): Promise<WindowCount | null>;
  close(): Promise<void>;
}
