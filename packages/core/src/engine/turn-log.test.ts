import { describe, expect, it } from 'vitest';
import { TurnLog } from './turn-log';
import type { DoneEvent, SequencedEvent } from './types';

const done: DoneEvent = {
  type: 'done',
  thread_id: 'user-a',
  turn_id: 't1',
  user_message_id: 1,
  message_id: 2,
  sources: [],
  usage: { total_tokens: 3, estimated: false },
  stopped: false,
  interrupted: false,
};

async function collect(events: AsyncIterable<SequencedEvent>): Promise<SequencedEvent[]> {
  const all: SequencedEvent[] = [];
  for await (const event of events) all.push(event);
  return all;
}

const textOf = (events: SequencedEvent[]) => events.map(({ event }) => (event.type === 'token' ? event.content : '')).join('');

/** Appends chunks with consecutive seqs, as the turn writer does once each batch is stored. */
function writer(log: TurnLog) {
  let seq = 0;
  return {
    token: (content: string) => log.append(++seq, { type: 'token', content }),
    status: (content: string) => log.append(++seq, { type: 'status', content }),
  };
}

function filledLog(): TurnLog {
  const log = new TurnLog();
  const write = writer(log);
  for (let i = 0; i < 1_000; i++) write.token(`t${i} `);
  write.status('🔍 Searching iFixit...');
  for (let i = 0; i < 10; i++) write.token(`u${i} `);
  log.finish(done);
  return log;
}

describe('TurnLog', () => {
  it('replays a finished turn compactly: one token event per run of text, then status and done, with their seqs', async () => {
    const events = await collect(filledLog().read());
    expect(events.map(({ event }) => event.type)).toEqual(['token', 'status', 'token', 'done']);
    expect(events.map(({ seq }) => seq)).toEqual([1_000, 1_001, 1_011, 1_012]);
    expect(textOf(events)).toBe(filledLog().text());
  });

  it('resumes after any seq it yielded with exactly the rest, live or replayed', async () => {
    const log = new TurnLog();
    const write = writer(log);
    const live: SequencedEvent[] = [];
    const reading = (async () => {
      for await (const event of log.read()) live.push(event);
    })();
    for (let i = 0; i < 50; i++) {
      write.token(`t${i} `);
      if (i === 20) write.status('looking');
      await new Promise((resolve) => setImmediate(resolve));
    }
    log.finish(done);
    await reading;
    expect(live.filter(({ event }) => event.type === 'token').length).toBeGreaterThan(10);
    const whole = textOf(live);
    for (const [index, { seq }] of live.entries()) {
      const rest = await collect(log.read(undefined, seq));
      expect(textOf(live.slice(0, index + 1)) + textOf(rest)).toBe(whole);
      expect(rest.map(({ event }) => event.type).filter((type) => type !== 'token')).toEqual(
        live.slice(index + 1).map(({ event }) => event.type).filter((type) => type !== 'token'),
      );
    }
    // Resuming after a seq in the middle of a run delivers the run from that chunk on.
    expect(textOf(await collect(log.read(undefined, 3)))).toBe(whole.slice('t0 t1 t2 '.length));
  });

  it('a 200k-token reply was an event object per token: now it is one text run', async () => {
    const log = new TurnLog();
    const write = writer(log);
    const tokens = 200_000;
    for (let i = 0; i < tokens; i++) write.token('word ');
    log.finish(done);
    const [first] = await collect(log.read());
    expect(first).toEqual({ event: { type: 'token', content: 'word '.repeat(tokens) }, seq: tokens });
  });

  it('refuses a chunk out of order', () => {
    const log = new TurnLog();
    expect(() => log.append(2, { type: 'token', content: 'x' })).toThrow(/expected seq 1/);
  });

  it('rethrows the turn failure to every reader after the events before it', async () => {
    const log = new TurnLog();
    log.append(1, { type: 'token', content: 'partial' });
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
