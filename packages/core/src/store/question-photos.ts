import { and, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Db } from '../db/db';
import { attachments } from '../db/schema';
import { AttachmentNotFound, ValidationError } from '../errors';
import { claimAttachments, MAX_ATTACHMENTS_PER_MESSAGE } from './attachments';

export interface QuestionPhotos {
  questionId: number;
  /** The question an edit replaces (superseded in the same transaction); null for a new question. */
  replacedId: number | null;
  /**
   * The question's photos in order. For an edit, undefined keeps the replaced question's photos; a list may
   * name the replaced question's own photos to keep them beside new uploads.
   */
  ids: readonly string[] | undefined;
}

/**
 * Links a question's photos inside the transaction that stores it, so a refused photo stores nothing. A new
 * question claims its uploads. An edit moves the photos it keeps to the question that replaces the edited
 * one; those it leaves out stay with the superseded question, as its other content does.
 */
export async function linkQuestionPhotos(tx: Db, userId: string, photos: QuestionPhotos): Promise<void> {
  const { questionId, replacedId, ids } = photos;
  if (replacedId === null) {
    await claimAttachments(tx, userId, ids ?? [], questionId);
    return;
  }
  if (ids === undefined) {
    await tx
      .update(attachments)
      .set({ messageId: questionId })
      .where(and(eq(attachments.messageId, replacedId), eq(attachments.userId, userId)));
    return;
  }
  if (ids.length === 0) return;
  checkIds(ids);
  const positionOf = sql.join(
    ids.map((id, position) => sql`when ${id} then ${sql.raw(String(position))}`),
    sql` `,
  );
  // The new question has no photos yet, so no position can collide; rows sent with any other message, or a
  // concurrent claim's once its lock is released, no longer match.
  const linked = await tx
    .update(attachments)
    .set({ messageId: questionId, position: sql`case ${attachments.id} ${positionOf} end` })
    .where(
      and(
        inArray(attachments.id, [...ids]),
        eq(attachments.userId, userId),
        or(isNull(attachments.messageId), eq(attachments.messageId, replacedId)),
      ),
    )
    .returning({ id: attachments.id });
  if (linked.length !== ids.length) throw new AttachmentNotFound();
}

function checkIds(ids: readonly string[]): void {
  if (ids.length > MAX_ATTACHMENTS_PER_MESSAGE) {
    throw new ValidationError(`At most ${MAX_ATTACHMENTS_PER_MESSAGE} images can be attached to a message.`, 'attachments');
  }
  if (new Set(ids).size !== ids.length) throw new ValidationError('The same image is attached twice.', 'attachments');
}
