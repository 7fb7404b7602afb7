import { describe, expect, it } from 'vitest';
import { eventIdOf, parseEventId } from './event-id';

const TURN = 'b1f0c7e2-1111-4222-8333-944445555666';
const OTHER = '0a0b0c0d-0e0f-4011-8213-141516171819';

describe('event ids', () => {
  it('round-trip turn id and seq', () => {
    expect(parseEventId(eventIdOf(TURN, 7))).toEqual({ turnId: TURN, seq: 7 });
    expect(parseEventId(eventIdOf(OTHER, 123_456_789))).toEqual({ turnId: OTHER, seq: 123_456_789 });
    // The prefix kept for the last turn must not leak into another turn's ids.
    expect(parseEventId(eventIdOf(TURN, 1))).toEqual({ turnId: TURN, seq: 1 });
  });

  it('are short: the turn in 22 base64url characters, then the seq', () => {
    const id = eventIdOf(TURN, 17);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}:17$/);
    expect(id.length).toBe(25);
  });

  it('still accept the long `<uuid>:<seq>` form earlier servers sent, so those clients resume', () => {
    expect(parseEventId(`${TURN}:7`)).toEqual({ turnId: TURN, seq: 7 });
  });

  it.each([
    ['no-separator'],
    [`:3`],
    [`${TURN}:`],
    [`${TURN}:-1`],
    [`${TURN}:1.5`],
    [`${TURN}:x`],
    ['abc:1'],
    // 22 characters hold 132 bits; a spelling with the spare bits set is not a turn's id.
    [`${eventIdOf(TURN, 1).slice(0, 21)}h:1`],
    [`${eventIdOf(TURN, 1).slice(0, 21)}+:1`],
  ])('rejects %j', (id) => {
    expect(parseEventId(id)).toBeUndefined();
  });
});
