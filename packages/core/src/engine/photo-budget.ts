import { imageTokens, type ImageDetail } from '../attachments/image-tokens';
import type { AttachmentMeta } from '../store/attachments';
import { fromQuestion, type ContextRow } from '../store/context';

export interface PhotoBudgetInput {
  model: string;
  /** Tokens for the thread's messages, photos included (the system prompt and tools are already taken off). */
  budget: number;
  /** The text window that fitted the budget, oldest first, ending with the question. */
  rows: ContextRow[];
  /** The window's photos (`attachmentsOfMessages`). */
  photos: AttachmentMeta[];
  /** The question this turn answers. */
  questionId: number;
}

export interface PhotoPlan {
  /** The window, less any older turns that made way for the question's photos. */
  rows: ContextRow[];
  /** Messages whose photos go to the model, with the detail they are sent at. */
  shown: Map<number, Exclude<ImageDetail, 'auto'>>;
  /** Messages whose photos are left out, over the budget: how many each has. */
  hidden: Map<number, number>;
  /** Prompt tokens of the photos shown, metered the provider's way. */
  tokens: number;
  /** Some of `tokens` is an estimate: the model's metering is not documented. */
  estimated: boolean;
}

/**
 * Which photos fit the context budget, after the text. The question's own photos always go: at high detail
 * when that fits beside the text, else at low, and if even that does not fit, older turns make way (as the
 * newest message is always kept, so is what it shows). Earlier messages' photos then go at low detail,
 * newest first, while what the text left still holds them all; from the first that does not fit, every older
 * one is left out, so older photos drop before any older text. A message's photos go or stay together.
 */
export function planPhotos(input: PhotoBudgetInput): PhotoPlan {
  const { model, budget, questionId } = input;
  const byMessage = new Map<number, AttachmentMeta[]>();
  for (const photo of input.photos) byMessage.set(photo.messageId, [...(byMessage.get(photo.messageId) ?? []), photo]);
  const cost = (photos: AttachmentMeta[], detail: ImageDetail) => {
    const counts = photos.map((photo) => imageTokens(model, photo.width, photo.height, detail));
    return { tokens: counts.reduce((sum, count) => sum + count.tokens, 0), estimated: counts.some((count) => count.estimated) };
  };
  const plan: PhotoPlan = { rows: input.rows, shown: new Map(), hidden: new Map(), tokens: 0, estimated: false };
  const include = (messageId: number, detail: 'high' | 'low', spent: { tokens: number; estimated: boolean }) => {
    plan.shown.set(messageId, detail);
    plan.tokens += spent.tokens;
    plan.estimated ||= spent.estimated;
  };

  let text = sum(plan.rows);
  const asked = byMessage.get(questionId) ?? [];
  if (asked.length > 0) {
    const high = cost(asked, 'high');
    if (text + high.tokens <= budget) include(questionId, 'high', high);
    else {
      const low = cost(asked, 'low');
      plan.rows = makeWay(plan.rows, questionId, budget - low.tokens);
      text = sum(plan.rows);
      include(questionId, 'low', low);
    }
  }

  let left = budget - text - plan.tokens;
  for (const row of [...plan.rows].reverse()) {
    const photos = row.id === questionId ? undefined : byMessage.get(row.id);
    if (!photos) continue;
    const low = cost(photos, 'low');
    if (plan.hidden.size === 0 && low.tokens <= left) {
      include(row.id, 'low', low);
      left -= low.tokens;
    } else plan.hidden.set(row.id, photos.length);
  }
  return plan;
}

/** Drops the oldest turns, whole, until the text fits `room`; the question itself always stays. */
function makeWay(rows: ContextRow[], questionId: number, room: number): ContextRow[] {
  let kept = rows;
  while (kept.length > 1 && kept[0]?.id !== questionId && sum(kept) > room) kept = fromQuestion(kept.slice(1));
  return kept;
}

function sum(rows: ContextRow[]): number {
  return rows.reduce((total, row) => total + row.tokens, 0);
}
