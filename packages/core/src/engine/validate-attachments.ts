import { AttachmentNotFound, ValidationError } from '../errors';
import { isAttachmentId, MAX_ATTACHMENTS_PER_MESSAGE } from '../store/attachments';

/**
 * The photo ids a send names, checked before anything is stored: a list of at most 4 distinct ids. An id that
 * cannot be one is as unknown as someone else's (404); whether each is the user's and unsent is decided as the
 * question is stored. Undefined when none were given.
 */
export function validateAttachmentIds(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new ValidationError('attachments must be a list of attachment ids', 'attachments');
  if (value.length > MAX_ATTACHMENTS_PER_MESSAGE) {
    throw new ValidationError(`At most ${MAX_ATTACHMENTS_PER_MESSAGE} images can be attached to a message.`, 'attachments');
  }
  const ids: string[] = [];
  for (const id of value as unknown[]) {
    if (typeof id !== 'string' || !isAttachmentId(id)) throw new AttachmentNotFound();
    ids.push(id);
  }
  if (new Set(ids).size !== ids.length) throw new ValidationError('The same image is attached twice.', 'attachments');
  return ids;
}
