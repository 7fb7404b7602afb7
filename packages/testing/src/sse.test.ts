import { describe, expect, it } from 'vitest';
import { parseSse, parseSseEvents, type SseEvent } from './sse';

async function* from<T>(pieces: T[]): AsyncGenerator<T> {
  for (const piece of pieces) yield piece;
}

const bytes = (text: string) => new TextEncoder().encode(text);

/** Every possible split of the input into single bytes: the harshest chunk-boundary case. */
function byteByByte(text: string): Uint8Array[] {
  return Array.from(bytes(text), (b) => Uint8Array.of(b));
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('parseSse', () => {
  const body =
    ': keep-alive comment\n\ndata: {"a":"é 😀"}\n\nevent: done\ndata: line one\ndata: line two\nid: 7\n\ndata: [DONE]\n\n';

  it('yields data payloads, joining multi-line data and skipping comments', async () => {
    expect(await all(parseSse(from([body])))).toEqual(['{"a":"é 😀"}', 'line one\nline two', '[DONE]']);
  });

  it('handles boundaries anywhere, including inside multi-byte characters', async () => {
    expect(await all(parseSse(from(byteByByte(body))))).toEqual([
      '{"a":"é 😀"}',
      'line one\nline two',
      '[DONE]',
    ]);
  });

  it('treats CRLF and lone CR as line ends, even when CR and LF arrive in different chunks', async () => {
    const crlf = 'data: a\r\n\r\ndata: b\r\rdata: c\r\n\r\n';
    expect(await all(parseSse(from(byteByByte(crlf))))).toEqual(['a', 'b', 'c']);
    expect(await all(parseSse(from(['data: x\r', '\n\r', '\n'])))).toEqual(['x']);
  });

  it('reports event name, id and retry like EventSource', async () => {
    const events = await all(parseSseEvents(from([body, 'retry: 1500\ndata:no-space\n\n'])));
    expect(events[0]).toEqual<SseEvent>({ event: 'message', data: '{"a":"é 😀"}', id: '' });
    expect(events[1]).toEqual<SseEvent>({ event: 'done', data: 'line one\nline two', id: '7' });
    expect(events[2]).toEqual<SseEvent>({ event: 'message', data: '[DONE]', id: '7' });
    expect(events[3]).toEqual<SseEvent>({ event: 'message', data: 'no-space', id: '7', retry: 1500 });
  });

  it('drops an unterminated trailing event and events without data, and strips a BOM', async () => {
    expect(await all(parseSse(from(['\uFEFFdata: kept\n\nevent: ping\n\ndata: lost'])))).toEqual(['kept']);
  });

  it('reads a web ReadableStream and cancels it when the consumer stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes('data: tick\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const data of parseSse(stream)) {
      expect(data).toBe('tick');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
