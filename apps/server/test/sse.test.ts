import { testDrivers } from '@fixthread/core/testing';
import { parseSse } from '@fixthread/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness';
import { BodyReader, type StreamEvent } from './support/http';

async function waitForAssistantRow(h: Harness, userId: string) {
  for (;;) {
    const row = (await h.messages()).find((m) => m.userId === userId && m.role === 'assistant');
    if (row) return row;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Keep-alive comments go out every 40 ms in these tests, so on a busy machine one may come first. */
async function untilFirstEvent(reader: BodyReader): Promise<string> {
  let text = '';
  while (!text.includes('data: ')) {
    const chunk = await reader.next();
    if (chunk === '') throw new Error(`stream ended before any event: ${JSON.stringify(text)}`);
    text += chunk;
  }
  return text;
}

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

describe.each(testDrivers())('SSE delivery on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver, { sseKeepAliveMs: 40 });
  });
  afterAll(() => h.close());

  const openStream = async (userId: string, message: string, signal?: AbortSignal) =>
    fetch(`${h.url}/chat/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.token(userId)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message }),
      signal,
    });

  it('sends keep-alive comment lines while a turn is quiet, which SSE parsers skip', async () => {
    h.openai.enqueue({ hangMs: 200, then: { text: 'late but here' } });
    const raw = await new BodyReader(await openStream('quiet', 'take your time')).rest();
    expect(raw).toMatch(/^: keep-alive\n\n/);
    const events: StreamEvent[] = [];
    for await (const data of parseSse(once(raw))) events.push(JSON.parse(data) as StreamEvent);
    expect(events.map((e) => e.type).at(-1)).toBe('done');
    expect(events.map((e) => (e.type === 'token' ? e.content : '')).join('')).toBe('late but here');
  });

  it('a client that disconnects mid-stream stops the delivery only: the reply is still saved whole', async () => {
    const text = Array.from({ length: 30 }, (_, i) => `bit${i}`).join(' ');
    h.openai.enqueue({ text, delayMsBetweenChunks: 20 });
    const abort = new AbortController();
    const reader = new BodyReader(await openStream('leaver', 'I will hang up', abort.signal));
    expect(await untilFirstEvent(reader)).toMatch(/^(: keep-alive\n\n)*id: [^\n]+\ndata: /);
    abort.abort();
    const row = await waitForAssistantRow(h, 'leaver');
    expect(row.content).toBe(text);
    expect(row.finishReason).toBe('stop');
  });

  it('a reader that falls behind holds back only its own delivery, and still gets every event in order', async () => {
    const text = Array.from({ length: 400_000 }, (_, i) => `word${i % 1000}`).join(' ');
    h.openai.enqueue({ text, chunkSize: 4_000 });
    const response = await openStream('slow-reader', 'send me a lot');
    // Nothing is read until the turn has been saved: the engine must not wait for this reader.
    const row = await waitForAssistantRow(h, 'slow-reader');
    expect(row.content).toHaveLength(text.length);
    let received = '';
    let done = 0;
    for await (const data of parseSse(response.body!)) {
      const event = JSON.parse(data) as StreamEvent;
      if (event.type === 'token') received += event.content;
      if (event.type === 'done') done++;
    }
    expect(received).toBe(text);
    expect(done).toBe(1);
  });
});
