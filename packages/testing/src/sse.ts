/** One dispatched server-sent event, as `EventSource` would deliver it. */
export interface SseEvent {
  /** `'message'` when the event had no `event:` field, as in browsers. */
  event: string;
  data: string;
  /** Last event id seen so far (it persists across events, per the spec). */
  id: string;
  retry?: number;
}

export type SseSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string>;

async function* chunksOf(source: SseSource): AsyncGenerator<Uint8Array | string> {
  // Reader first: some browsers' ReadableStream is not async-iterable.
  if (!('getReader' in source)) {
    yield* source;
    return;
  }
  const reader = source.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    // A consumer that stops early should free the connection, as EventSource.close() does.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** Splits decoded text into lines on CRLF, CR or LF, holding back a trailing CR until the next chunk shows whether LF follows. */
async function* linesOf(source: SseSource): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let first = true;
  const drain = function* (final: boolean): Generator<string> {
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      if (!match) break;
      if (match[0] === '\r' && match.index === buffer.length - 1 && !final) break;
      yield buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
    }
  };
  for await (const piece of chunksOf(source)) {
    buffer += typeof piece === 'string' ? piece : decoder.decode(piece, { stream: true });
    if (first && buffer.length > 0) {
      if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
      first = false;
    }
    yield* drain(false);
  }
  buffer += decoder.decode();
  yield* drain(true);
  // A final line without a terminator can never complete an event, so it is dropped like browsers do.
}

/**
 * Parses a `text/event-stream` body per the WHATWG algorithm: comments (`:`) ignored, multi-line
 * `data:` joined with `\n`, one optional space after the colon stripped, events dispatched on a
 * blank line, and an unterminated event at end of stream discarded.
 */
export async function* parseSseEvents(source: SseSource): AsyncGenerator<SseEvent> {
  let data: string[] = [];
  let event = '';
  let id = '';
  let retry: number | undefined;
  for await (const line of linesOf(source)) {
    if (line === '') {
      if (data.length > 0) {
        const out: SseEvent = { event: event === '' ? 'message' : event, data: data.join('\n'), id };
        if (retry !== undefined) out.retry = retry;
        yield out;
      }
      data = [];
      event = '';
      retry = undefined;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  }
}

/** Just the `data` payloads, in order — what most tests need from an SSE response. */
export async function* parseSse(source: SseSource): AsyncGenerator<string> {
  for await (const event of parseSseEvents(source)) yield event.data;
}
