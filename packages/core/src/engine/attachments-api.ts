import type { DatabaseGuard } from '../db/database-guard';
import type { Db } from '../db/db';
import type { ImageLimits } from '../attachments/image-limits';
import { AttachmentNotFound, ValidationError } from '../errors';
import { getAttachment, isAttachmentId, saveAttachment } from '../store/attachments';
import type { ChatEngine } from './types';

type AttachmentsApi = Pick<ChatEngine, 'uploadAttachment' | 'attachment'>;

/** Photo uploads and their bytes. Linking them to a message happens as it is sent (`SendOptions.attachments`). */
export function attachmentsApi(deps: { userDb: (userId: string) => Db; guard: DatabaseGuard; limits: ImageLimits }): AttachmentsApi {
  const { userDb, guard, limits } = deps;
  return {
    async uploadAttachment(userId, bytes) {
      if (!(bytes instanceof Uint8Array)) throw new ValidationError('The image must be sent as bytes.', 'file');
      // sharp is a native module: loaded with the first upload, so processes that never take one don't load it.
      const { normaliseImage } = await import('../attachments/normalise-image');
      // Decoding takes up to a second or so and runs in normaliseImage's own work slots; no database work is
      // open meanwhile, and the row is one insert afterwards.
      const image = await normaliseImage(bytes, limits);
      const saved = await guard(() => saveAttachment(userDb(userId), userId, image), 'save_attachment');
      return { id: saved.id, content_type: saved.contentType, width: saved.width, height: saved.height, byte_size: saved.byteSize };
    },

    async attachment(userId, id, variant = 'full') {
      if (variant !== 'full' && variant !== 'thumbnail') {
        throw new ValidationError("variant must be 'full' or 'thumbnail'", 'variant');
      }
      if (typeof id !== 'string' || !isAttachmentId(id)) throw new AttachmentNotFound();
      const found = await guard(() => getAttachment(userDb(userId), userId, id, variant), 'read_attachment');
      if (!found) throw new AttachmentNotFound();
      return { contentType: found.contentType, bytes: found.bytes, sha256: found.sha256 };
    },
  };
}
