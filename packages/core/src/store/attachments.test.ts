import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { normaliseImage, type NormalisedImage } from '../attachments/normalise-image';
import { solidImage } from '../attachments/test-images';
import type { Db } from '../db/db';
import { attachments, conversations } from '../db/schema';
import { AttachmentNotFound, ValidationError } from '../errors';
import { testDrivers } from '../testing';
import { expectPgError, newUserId, useFreshDatabase } from '../../test/helpers';
import {
  attachmentsOfMessages,
  claimAttachments,
  getAttachment,
  imagesForContext,
  isAttachmentId,
  saveAttachment,
  sweepUnsentAttachments,
} from './attachments';
import { appendUserMessage, clearThread } from './messages';

let images: NormalisedImage[] = [];

beforeAll(async () => {
  images = await Promise.all(
    [
      ['jpeg', 120, 80],
      ['png', 64, 96],
      ['webp', 50, 50],
      ['jpeg', 300, 40],
    ].map(async ([format, width, height]) => normaliseImage(await solidImage(format as 'jpeg' | 'png' | 'webp', width as number, height as number))),
  );
});

function image(n: number): NormalisedImage {
  const found = images[n];
  if (!found) throw new Error(`no fixture image ${n}`);
  return found;
}

async function uploads(db: Db, userId: string, count: number): Promise<string[]> {
  const saved = [];
  for (let n = 0; n < count; n++) saved.push(await saveAttachment(db, userId, image(n % images.length)));
  return saved.map((s) => s.id);
}

async function messageOf(db: Db, userId: string, text = 'what is wrong with this board?'): Promise<number> {
  return (await appendUserMessage(db, userId, text)).id;
}

async function unsent(db: Db, id: string): Promise<boolean> {
  const [row] = await db.select({ messageId: attachments.messageId, position: attachments.position }).from(attachments).where(eq(attachments.id, id));
  if (!row) throw new Error(`attachment ${id} is gone`);
  return row.messageId === null && row.position === null;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected it to fail');
}

describe.each(testDrivers())('attachment store on $name', (driver) => {
  const database = useFreshDatabase(driver);

  describe('saveAttachment and getAttachment', () => {
    it('keeps the bytes exactly and gives them back to their owner, full or thumbnail', async () => {
      const { db } = database();
      const userId = newUserId();
      const saved = await saveAttachment(db, userId, image(0));
      expect(isAttachmentId(saved.id)).toBe(true);
      expect(saved).toMatchObject({
        contentType: 'image/jpeg',
        width: image(0).width,
        height: image(0).height,
        byteSize: image(0).bytes.length,
        sha256: image(0).sha256,
      });
      expect(saved.createdAt).toBeInstanceOf(Date);

      const full = await getAttachment(db, userId, saved.id, 'full');
      expect(full?.contentType).toBe('image/jpeg');
      expect(Buffer.isBuffer(full?.bytes)).toBe(true);
      expect(full?.bytes.equals(image(0).bytes)).toBe(true);
      expect(full).toMatchObject({ id: saved.id, sha256: image(0).sha256, messageId: null });

      const thumbnail = await getAttachment(db, userId, saved.id, 'thumbnail');
      expect(thumbnail?.contentType).toBe('image/webp');
      expect(Buffer.isBuffer(thumbnail?.bytes)).toBe(true);
      expect(thumbnail?.bytes.equals(image(0).thumbnail.bytes)).toBe(true);
    });

    it("gives another user's attachment, and an unknown id, as undefined", async () => {
      const { db } = database();
      const owner = newUserId('owner');
      const [id] = await uploads(db, owner, 1);
      for (const variant of ['full', 'thumbnail'] as const) {
        expect(await getAttachment(db, newUserId('intruder'), id!, variant)).toBeUndefined();
        expect(await getAttachment(db, owner, 'att_AAAAAAAAAAAAAAAAAAAAAA', variant)).toBeUndefined();
      }
    });

    it('gives each upload its own unguessable id', async () => {
      const { db } = database();
      const ids = await uploads(db, newUserId(), 4);
      expect(new Set(ids).size).toBe(4);
      for (const id of ids) expect(id).toMatch(/^att_[A-Za-z0-9_-]{22}$/);
      expect(isAttachmentId('att_short')).toBe(false);
      expect(isAttachmentId(`att_${'a'.repeat(21)}/`)).toBe(false);
    });
  });

  describe('claimAttachments', () => {
    it('links the uploads to the message in the order given, and history reads them without bytes', async () => {
      const { db } = database();
      const userId = newUserId();
      const [a, b, c] = await uploads(db, userId, 3);
      const messageId = await messageOf(db, userId);

      const claimed = await claimAttachments(db, userId, [c!, a!, b!], messageId);
      expect(claimed.map((x) => [x.id, x.position])).toEqual([
        [c, 0],
        [a, 1],
        [b, 2],
      ]);

      const listed = await attachmentsOfMessages(db, userId, [messageId]);
      expect(listed).toEqual(claimed);
      expect(listed[0]).toEqual({
        id: c,
        messageId,
        position: 0,
        contentType: image(2).contentType,
        width: image(2).width,
        height: image(2).height,
        byteSize: image(2).bytes.length,
      });
      expect((await getAttachment(db, userId, a!, 'full'))?.messageId).toBe(messageId);
    });

    it("refuses another user's upload with a 404 and links none of the caller's", async () => {
      const { db } = database();
      const userId = newUserId();
      const [mine] = await uploads(db, userId, 1);
      const [theirs] = await uploads(db, newUserId('other'), 1);
      const messageId = await messageOf(db, userId);

      const error = await failure(claimAttachments(db, userId, [mine!, theirs!], messageId));
      expect(error).toBeInstanceOf(AttachmentNotFound);
      expect(error).toMatchObject({ code: 'ATTACHMENT_NOT_FOUND' });
      expect(await unsent(db, mine!)).toBe(true);
      expect(await unsent(db, theirs!)).toBe(true);
      expect(await attachmentsOfMessages(db, userId, [messageId])).toEqual([]);
    });

    it('refuses an upload already sent with another message, and an unknown id, linking nothing', async () => {
      const { db } = database();
      const userId = newUserId();
      const [sent, fresh] = await uploads(db, userId, 2);
      const first = await messageOf(db, userId, 'first');
      await claimAttachments(db, userId, [sent!], first);
      const second = await messageOf(db, userId, 'second');

      expect(await failure(claimAttachments(db, userId, [fresh!, sent!], second))).toBeInstanceOf(AttachmentNotFound);
      expect(await unsent(db, fresh!)).toBe(true);
      expect(await attachmentsOfMessages(db, userId, [first])).toMatchObject([{ id: sent, position: 0 }]);

      expect(await failure(claimAttachments(db, userId, [fresh!, 'att_0000000000000000000000'], second))).toBeInstanceOf(AttachmentNotFound);
      expect(await unsent(db, fresh!)).toBe(true);
    });

    it("refuses to link the caller's uploads to someone else's message", async () => {
      const { db } = database();
      const userId = newUserId();
      const [mine] = await uploads(db, userId, 1);
      const theirMessage = await messageOf(db, newUserId('other'));
      expect(await failure(claimAttachments(db, userId, [mine!], theirMessage))).toBeInstanceOf(AttachmentNotFound);
      expect(await unsent(db, mine!)).toBe(true);
    });

    it('refuses the same upload twice and more than four, before touching the database', async () => {
      const { db } = database();
      const userId = newUserId();
      const ids = await uploads(db, userId, 5);
      const messageId = await messageOf(db, userId);
      expect(await failure(claimAttachments(db, userId, [ids[0]!, ids[0]!], messageId))).toBeInstanceOf(ValidationError);
      const tooMany = await failure(claimAttachments(db, userId, ids, messageId));
      expect(tooMany).toBeInstanceOf(ValidationError);
      expect(tooMany).toMatchObject({ field: 'attachments' });
      for (const id of ids) expect(await unsent(db, id)).toBe(true);
      expect(await claimAttachments(db, userId, [], messageId)).toEqual([]);
    });

    it("commits or rolls back with the caller's transaction, and a refused claim leaves that transaction usable", async () => {
      const { db } = database();
      const userId = newUserId();
      const [a, b] = await uploads(db, userId, 2);

      const messageId = await db.transaction(async (tx) => {
        const id = await messageOf(tx, userId);
        await claimAttachments(tx, userId, [a!], id);
        return id;
      });
      expect(await attachmentsOfMessages(db, userId, [messageId])).toMatchObject([{ id: a, position: 0 }]);

      await expect(
        db.transaction(async (tx) => {
          const id = await messageOf(tx, userId);
          await claimAttachments(tx, userId, [b!], id);
          throw new Error('the turn failed after the message was written');
        }),
      ).rejects.toThrow('the turn failed');
      expect(await unsent(db, b!)).toBe(true);

      const kept = await db.transaction(async (tx) => {
        const id = await messageOf(tx, userId);
        const refused = await failure(claimAttachments(tx, userId, [b!, a!], id));
        expect(refused).toBeInstanceOf(AttachmentNotFound);
        // The savepoint undid the partial link of `b`; the transaction goes on and can still claim it.
        expect(await unsent(tx, b!)).toBe(true);
        await claimAttachments(tx, userId, [b!], id);
        return id;
      });
      expect(await attachmentsOfMessages(db, userId, [kept])).toMatchObject([{ id: b, position: 0 }]);
    });

    it('links an upload to one message only when two sends race for it', async () => {
      const { db } = database();
      const userId = newUserId();
      const [contested] = await uploads(db, userId, 1);
      const messages = [await messageOf(db, userId, 'one'), await messageOf(db, userId, 'two')];
      const results = await Promise.allSettled(messages.map((m) => claimAttachments(db, userId, [contested!], m)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected');
      expect(rejected?.reason).toBeInstanceOf(AttachmentNotFound);
    });
  });

  describe('reading for history and context', () => {
    it("gives the model each message's images in order, with their bytes, and only the user's own", async () => {
      const { db } = database();
      const userId = newUserId();
      const [a, b, c] = await uploads(db, userId, 3);
      const first = await messageOf(db, userId, 'first');
      const second = await messageOf(db, userId, 'second');
      await claimAttachments(db, userId, [b!, a!], first);
      await claimAttachments(db, userId, [c!], second);

      const context = await imagesForContext(db, userId, [second, first]);
      expect(context.map((x) => [x.messageId, x.position, x.id])).toEqual([
        [first, 0, b],
        [first, 1, a],
        [second, 0, c],
      ]);
      expect(context[0]?.bytes.equals(image(1).bytes)).toBe(true);
      expect(context[0]).toMatchObject({ contentType: 'image/png', width: image(1).width, height: image(1).height });
      expect(Buffer.isBuffer(context[2]?.bytes)).toBe(true);

      expect(await imagesForContext(db, newUserId('intruder'), [first, second])).toEqual([]);
      expect(await attachmentsOfMessages(db, newUserId('intruder'), [first, second])).toEqual([]);
      expect(await imagesForContext(db, userId, [])).toEqual([]);
      expect(Object.keys((await attachmentsOfMessages(db, userId, [first]))[0] ?? {})).not.toContain('bytes');
    });
  });

  describe('deletion', () => {
    it("goes with its message: clearing the thread deletes the thread's attachments, and only those", async () => {
      const { db } = database();
      const userId = newUserId();
      const [sent, pending] = await uploads(db, userId, 2);
      const messageId = await messageOf(db, userId);
      await claimAttachments(db, userId, [sent!], messageId);
      const other = newUserId('other');
      const [othersSent] = await uploads(db, other, 1);
      await claimAttachments(db, other, [othersSent!], await messageOf(db, other));

      await clearThread(db, userId);
      expect(await getAttachment(db, userId, sent!, 'full')).toBeUndefined();
      expect(await getAttachment(db, userId, pending!, 'full')).toBeDefined();
      expect(await getAttachment(db, other, othersSent!, 'full')).toBeDefined();
    });

    it('goes when its message row is deleted directly', async () => {
      const { db } = database();
      const userId = newUserId();
      const [id] = await uploads(db, userId, 1);
      const messageId = await messageOf(db, userId);
      await claimAttachments(db, userId, [id!], messageId);
      await db.delete(conversations).where(eq(conversations.id, messageId));
      expect(await getAttachment(db, userId, id!, 'thumbnail')).toBeUndefined();
    });

    it('sweeps unsent uploads older than the cut-off, and nothing sent or recent', async () => {
      const { db } = database();
      const userId = newUserId();
      const [stale, recent, sentStale] = await uploads(db, userId, 3);
      await claimAttachments(db, userId, [sentStale!], await messageOf(db, userId));
      await db
        .update(attachments)
        .set({ createdAt: sql`now() - interval '2 days'` })
        .where(sql`${attachments.id} in (${stale!}, ${sentStale!})`);

      const swept = await sweepUnsentAttachments(db, new Date(Date.now() - 24 * 3600_000));
      expect(swept).toBe(1);
      expect(await getAttachment(db, userId, stale!, 'full')).toBeUndefined();
      expect(await getAttachment(db, userId, recent!, 'full')).toBeDefined();
      expect(await getAttachment(db, userId, sentStale!, 'full')).toBeDefined();
      expect(await sweepUnsentAttachments(db, new Date(Date.now() - 24 * 3600_000))).toBe(0);
    });
  });

  describe('table constraints', () => {
    it('refuses a content type outside JPEG, PNG and WebP, and a position without a message', async () => {
      const { db } = database();
      const userId = newUserId();
      const [id] = await uploads(db, userId, 1);
      await expectPgError(() => db.update(attachments).set({ contentType: 'image/svg+xml' as 'image/png' }).where(eq(attachments.id, id!)), '23514');
      await expectPgError(() => db.update(attachments).set({ position: 0 }).where(eq(attachments.id, id!)), '23514');
    });
  });
});
