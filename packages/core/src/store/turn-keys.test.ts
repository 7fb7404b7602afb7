import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testDrivers } from '../testing';
import { newUserId, useFreshDatabase } from '../../test/helpers';
import { createTurn, deleteQueuedTurn } from './turns';

// Only real Postgres runs the two statements concurrently; PGlite serializes them, so the race cannot occur.
describe.each(testDrivers().filter((driver) => driver.name === 'postgres'))('createTurn on $name', (driver) => {
  const database = useFreshDatabase(driver);

  it('a key re-sent while recovery deletes the queued turn holding it gets a turn, not an error (found by the soak)', async () => {
    const { db } = database();
    const userId = newUserId();
    const failures: string[] = [];
    for (let i = 0; i < 120; i++) {
      const key = `race-${i}`;
      const dead = { id: randomUUID(), userId, threadId: `user-${userId}`, clientMessageId: key, messageHash: 'h', owner: 'dead', leaseMs: 6_000 };
      await createTurn(db, dead);
      const resend = createTurn(db, { ...dead, id: randomUUID(), owner: 'alive' }).catch((error: unknown) => {
        failures.push((error as Error).message);
      });
      await new Promise((resolve) => setTimeout(resolve, i % 3));
      await deleteQueuedTurn(db, dead.id);
      await resend;
    }
    expect(failures).toEqual([]);
  });
});
