import { describe, expect, test } from 'vitest';
import { TITLE_WAIT_MS, TitleWatch } from './title-watch';

describe('TitleWatch', () => {
  test('waits for the title of a thread that just had its turn, until it comes', () => {
    const now = 0;
    const watch = new TitleWatch(() => now);
    expect(watch.waiting([])).toBe(false);
    watch.watch('user-ada/b');
    expect(watch.waiting([{ id: 'user-ada/b', is_default: false, title: null }])).toBe(true);
    // Not listed yet (the list refetch is on its way): still waiting.
    expect(watch.waiting([])).toBe(true);
    expect(watch.waiting([{ id: 'user-ada/b', is_default: false, title: 'Drone drifts left' }])).toBe(false);
    expect(watch.waiting([{ id: 'user-ada/b', is_default: false, title: null }])).toBe(false);
  });

  test('knows the default thread by is_default, and gives up after a while', () => {
    let now = 0;
    const watch = new TitleWatch(() => now);
    watch.watch(null);
    const untitled = [{ id: 'user-ada', is_default: true, title: null }];
    expect(watch.waiting(untitled)).toBe(true);
    now = TITLE_WAIT_MS + 1;
    expect(watch.waiting(untitled)).toBe(false);
  });
});
