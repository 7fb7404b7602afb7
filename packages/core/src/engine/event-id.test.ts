import { describe, expect, it } from 'vitest';
import { eventIdOf, parseEventId } from './event-id';

const TURN = 'b1f0c7e2-1111-4222-8333-944445555666';

describe('event ids', () => {
  it('round-trip turn id and seq', () => {
    expect(parseEventId(eventIdOf(TURN, 7))).toEqual({ turnId: TURN, seq: 7 });
  });

  it.each([['no-separator'], [`:3`], [`${TURN}:`], [`${TURN}:-1`], [`${TURN}:1.5`], [`${TURN}:x`], ['abc:1']])('rejects %j', (id) => {
    expect(parseEventId(id)).toBeUndefined();
  });
});
