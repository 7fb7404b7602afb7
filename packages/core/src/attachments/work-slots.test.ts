import { describe, expect, it } from 'vitest';
import { createWorkSlots } from './work-slots';

describe('createWorkSlots', () => {
  it('runs at most its size at once, the rest in arrival order, and frees a slot when a task fails', async () => {
    const slots = createWorkSlots(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (n: number) => async () => {
      started.push(n);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (n === 1) throw new Error('boom');
      return n;
    };
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => slots.run(task(n))));
    expect(most).toBe(2);
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).toEqual(['failed', 2, 3, 4, 5, 6]);
    // Every slot came back: a full set of new tasks still starts together.
    running = 0;
    most = 0;
    await Promise.all([7, 8].map((n) => slots.run(task(n))));
    expect(most).toBe(2);
  });
});
