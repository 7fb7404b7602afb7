import { describe, expect, it } from 'vitest';
import { imageTokens } from '../attachments/image-tokens';
import type { AttachmentMeta } from '../store/attachments';
import type { ContextRow } from '../store/context';
import { planPhotos } from './photo-budget';

const MODEL = 'gpt-4o';
const LOW = imageTokens(MODEL, 1024, 768, 'low').tokens;
const HIGH = imageTokens(MODEL, 1024, 768, 'high').tokens;

/** q1 a1 q2 a2 … ending with the question `q{turns}`, each message 10 tokens. */
function thread(turns: number): ContextRow[] {
  const rows: ContextRow[] = [];
  for (let n = 1; n <= turns; n++) {
    rows.push({ id: n * 10, role: 'user', content: `q${n}`, tokens: 10, hasPhotos: true });
    if (n < turns) rows.push({ id: n * 10 + 1, role: 'assistant', content: `a${n}`, tokens: 10, hasPhotos: false });
  }
  return rows;
}

const photo = (messageId: number, position = 0): AttachmentMeta => ({
  id: `att_${messageId}_${position}`,
  messageId,
  position,
  contentType: 'image/jpeg',
  width: 1024,
  height: 768,
  byteSize: 1,
});

describe('planPhotos', () => {
  it('sends the question’s photos at high detail when they fit beside the text', () => {
    const plan = planPhotos({ model: MODEL, budget: 50 + HIGH, rows: thread(3), photos: [photo(30)], questionId: 30 });
    expect([...plan.shown]).toEqual([[30, 'high']]);
    expect(plan.tokens).toBe(HIGH);
    expect(plan.estimated).toBe(false);
    expect(plan.rows).toHaveLength(5);
  });

  it('falls back to low detail, and drops older turns whole only when even that does not fit', () => {
    const low = planPhotos({ model: MODEL, budget: 50 + LOW, rows: thread(3), photos: [photo(30)], questionId: 30 });
    expect([...low.shown]).toEqual([[30, 'low']]);
    expect(low.rows).toHaveLength(5);

    const tight = planPhotos({ model: MODEL, budget: 30 + LOW, rows: thread(3), photos: [photo(30)], questionId: 30 });
    expect(tight.rows.map((r) => r.content)).toEqual(['q2', 'a2', 'q3']);
    expect([...tight.shown]).toEqual([[30, 'low']]);
  });

  it('adds earlier photos newest first at low detail, a message’s together, and none older than the first that does not fit', () => {
    const photos = [photo(10), photo(20), photo(20, 1), photo(30), photo(40)];
    // Text 70, the question's photo, one earlier message's: q3 fits; q2's two do not; q1's one would, but is older.
    const plan = planPhotos({ model: MODEL, budget: 70 + LOW + HIGH + LOW + LOW / 2, rows: thread(4), photos, questionId: 40 });
    expect([...plan.shown]).toEqual([
      [40, 'high'],
      [30, 'low'],
    ]);
    expect([...plan.hidden]).toEqual([
      [20, 2],
      [10, 1],
    ]);
    expect(plan.rows).toHaveLength(7);
    expect(plan.tokens).toBe(HIGH + LOW);
  });

  it('says when its figures are estimates: a model whose metering is not documented', () => {
    const plan = planPhotos({ model: 'llava:13b', budget: 100_000, rows: thread(1), photos: [photo(10)], questionId: 10 });
    expect(plan.estimated).toBe(true);
    expect(plan.tokens).toBeGreaterThan(0);
  });
});
