import { describe, expect, it } from 'vitest';
import { TurnLog } from './turn-log';
import type { PositionedEvent, TurnEvent } from './types';

const done: TurnEvent = {
  type: 'done',
  thread_id: 'user-a',
  message_id: 1,
  sources: [],
  usage: { total_tokens: 3, estimated: false },
  stopped: false,
};

async function collect(events: AsyncIterable<PositionedEvent>): Promise<PositionedEvent[]> {
  const all: PositionedEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

const textOf = (events: PositionedEvent[]) => events.map(({ event }) => (event.type === 'token' ? event.content : '')).join('');

function filledLog(): TurnLog {
  const log = new TurnLog();
  for (let i = 0; i < 1_000; i++) log.push({ type: 'token', content: `t${i} ` });
  log.push({ type: 'status', content: '🔍 Searching iFixit...' });
  for (let i = 0; i < 10; i++) log.push({ type: 'token', content: `u${i} ` });
  log.push(done);
  return log;
}

describe('TurnLog', () => {
  it('replays a finished turn compactly: one token event per run of text, then status and done', async () => {
    const events = await collect(filledLog().read());
    expect(events.map(({ event }) => event.type)).toEqual(['token', 'status', 'token', 'done']);
    expect(textOf(events)).toBe(filledLog().text());
  });

  it('resumes after any position it yielded with exactly the rest, live or replayed', async () => {
    const log = new TurnLog();
    const live: PositionedEvent[] = [];
    const reading = (async () => {
      for await (const event of log.read()) live.push(event);
    })();
    for (let i = 0; i < 50; i++) {
      log.push({ type: 'token', content: `t${i} ` });
      if (i === 20) log.push({ type: 'status', content: 'looking' });
      await new Promise((resolve) => setImmediate(resolve));
    }
    log.push(done);
    await reading;
    expect(live.filter(({ event }) => event.type === 'token').length).toBeGreaterThan(10);
    const whole = textOf(live);
    for (const [index, { position }] of live.entries()) {
      const rest = await collect(log.read(undefined, position));
      expect(textOf(live.slice(0, index + 1)) + textOf(rest)).toBe(whole);
      expect(rest.map(({ event }) => event.type).filter((type) => type !== 'token')).toEqual(
        live.slice(index + 1).map(({ event }) => event.type).filter((type) => type !== 'token'),
      );
    }
  });

  it('keeps the text of a long reply in about its own size, not an object per token', async () => {
    const log = new TurnLog();
    const tokens = 200_000;
    for (let i = 0; i < tokens; i++) log.push({ type: 'token', content: 'word ' });
    log.push(done);
    const [first] = await collect(log.read());
    expect(first?.event).toEqual({ type: 'token', content: 'word '.repeat(tokens) });
  });

  it('rethrows the turn failure to every reader after the events before it', async () => {
    const log = new TurnLog();
    log.push({ type: 'token', content: 'partial' });
    log.fail(new Error('model down'));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const { event } of log.read()) seen.push(event.type);
      })(),
    ).rejects.toThrow('model down');
    expect(seen).toEqual(['token']);
  });
});
