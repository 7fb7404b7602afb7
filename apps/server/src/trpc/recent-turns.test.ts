import type { Turn } from '@fixthread/core';
import { describe, expect, it } from 'vitest';
import { eventId, parseEventId, RecentTurns } from './recent-turns';

function turnOf(userId: string, id = 'b1f0c7e2-1111-4222-8333-944445555666'): Turn {
  return {
    id,
    threadId: `user-${userId}`,
    userMessageId: 1,
    events: async function* () {},
    positionedEvents: async function* () {},
    done: new Promise(() => {}),
    stop: () => {},
  };
}

describe('event ids', () => {
  it('round-trip turn id and position', () => {
    const turn = turnOf('ann');
    expect(parseEventId(eventId(turn, '7.1024'))).toEqual({ turnId: turn.id, position: '7.1024' });
  });

  it.each([['no-separator'], [':3.0'], ['abc:'], ['abc:-1.0'], ['abc:1'], ['abc:x.1'], ['abc:1.5.2']])('rejects %j', (id) => {
    expect(parseEventId(id)).toBeUndefined();
  });
});

describe('RecentTurns', () => {
  it('finds a turn only for the user whose thread it is', () => {
    const turns = new RecentTurns();
    const turn = turnOf('ann');
    turns.remember(turn);
    expect(turns.find('ann', turn.id)).toBe(turn);
    expect(turns.find('bob', turn.id)).toBeUndefined();
    expect(turns.find('ann', 'unknown')).toBeUndefined();
  });
});
