import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowLevelSecurity } from '../db/row-level-security';
import { testDrivers, type TestDatabase } from '../testing/index';
import { appendTurnEvents, startTurnNow, turnEventsAfter, type StreamedChunk } from './turns';

let n = 0;
const newUser = () => `te${Date.now().toString(36)}${n++}`;

/** Text an array literal must quote or escape, and text only a careful encoder keeps intact. */
const AWKWARD = [
  'plain',
  '',
  'a,b',
  '{braces}',
  '"quoted"',
  'back\\slash',
  'NULL',
  ' padded ',
  'line\nbreak\ttab',
  "it's",
  'emoji 🔧 and ü, é, 中文',
  '\u{feff}leading BOM',
];

describe.each(testDrivers())('turn events on $name', (driver) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
  });
  afterAll(async () => {
    await database?.[Symbol.asyncDispose]();
  });

  async function startedTurn(userId: string): Promise<string> {
    const turnId = randomUUID();
    const started = await startTurnNow(
      rowLevelSecurity(database.db).forUser(userId),
      { id: turnId, clientMessageId: null, messageHash: 'h', owner: 'me', leaseMs: 60_000 },
      { userId, threadId: `user-${userId}`, content: 'The fridge hums', contentTokens: 4 },
    );
    if (!started) throw new Error('turn did not start');
    return turnId;
  }

  it('stores a batch of any size in one statement and reads back exactly what was written, in seq order', async () => {
    const user = newUser();
    const db = rowLevelSecurity(database.db).forUser(user);
    const turnId = await startedTurn(user);
    const chunks: StreamedChunk[] = AWKWARD.map((content, i) => ({ seq: i + 1, round: i % 3, type: i % 4 === 0 ? 'status' : 'token', content }));
    await appendTurnEvents(db, turnId, chunks.slice(0, 1));
    await appendTurnEvents(db, turnId, chunks.slice(1));
    expect(await turnEventsAfter(db, turnId, 0)).toEqual(chunks);
    expect(await turnEventsAfter(db, turnId, 5)).toEqual(chunks.slice(5));
  });

  it('a batch is written whole or not at all: a seq already stored refuses the batch', async () => {
    const user = newUser();
    const db = rowLevelSecurity(database.db).forUser(user);
    const turnId = await startedTurn(user);
    await appendTurnEvents(db, turnId, [{ seq: 1, round: 0, type: 'token', content: 'first' }]);
    await expect(
      appendTurnEvents(db, turnId, [
        { seq: 2, round: 0, type: 'token', content: 'second' },
        { seq: 1, round: 0, type: 'token', content: 'again' },
      ]),
    ).rejects.toThrow();
    expect((await turnEventsAfter(db, turnId, 0)).map((chunk) => chunk.content)).toEqual(['first']);
  });

  it("another user's handle can neither write nor read a turn's events", async () => {
    const owner = newUser();
    const turnId = await startedTurn(owner);
    const intruder = rowLevelSecurity(database.db).forUser(newUser());
    await expect(appendTurnEvents(intruder, turnId, [{ seq: 1, round: 0, type: 'token', content: 'injected' }])).rejects.toThrow();
    await appendTurnEvents(rowLevelSecurity(database.db).forUser(owner), turnId, [{ seq: 1, round: 0, type: 'token', content: 'mine' }]);
    expect(await turnEventsAfter(intruder, turnId, 0)).toEqual([]);
  });
});
