export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`HTTP ${status} from ${new URL(url).host}`);
    this.name = 'HttpStatusError';
  }
}

export interface FetchJsonOptions {
  signal: AbortSignal;
  userAgent: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
  /** Retries on 429, honouring Retry-After up to `maxBackoffMs`. */
  retries429?: number;
  maxBackoffMs?: number;
  maxBytes?: number;
}

/** JSON over HTTP with a User-Agent, bounded back-off on 429, and the caller's deadline via `signal`. */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<unknown> {
  const retries = options.retries429 ?? 2;
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, {
      method: options.method ?? 'GET',
      signal: options.signal,
      headers: {
        accept: 'application/json',
        'user-agent': options.userAgent,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    if (response.status === 429 && attempt < retries) {
      await response.body?.cancel();
      await sleep(backoffMs(response.headers.get('retry-after'), attempt, options.maxBackoffMs ?? 2000), options.signal);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpStatusError(response.status, url);
    }
    return JSON.parse(await readCapped(response, options.maxBytes ?? MAX_RESPONSE_BYTES)) as unknown;
  }
}

// Guides run to a few hundred KB; anything far beyond that is not worth holding in memory for one tool call.
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`response larger than ${maxBytes} bytes`);
    }
    text += decoder.decode(value, { stream: true });
  }
}
function backoffMs(retryAfter: string | null, attempt: number, cap: number): number {
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  const wanted = Number.isFinite(seconds) ? seconds * 1000 : 250 * 2 ** attempt;
  return Math.min(Math.max(wanted, 0), cap);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
