import { randomBytes } from 'node:crypto';
import { and, asc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { NormalisedImage } from '../attachments/normalise-image';
import type { Db } from '../db/db';
import { attachments, conversations, type AttachmentContentType } from '../db/schema';
import { AttachmentNotFound, ValidationError } from '../errors';

export const MAX_ATTACHMENTS_PER_MESSAGE = 4;

const ATTACHMENT_ID = /^att_[A-Za-z0-9_-]{22}$/;

/** 128 random bits: an id that cannot be guessed, so knowing one is no way in (ownership is still checked). */
export function newAttachmentId(): string {
  return `att_${randomBytes(16).toString('base64url')}`;
}

/** For transports, to answer a malformed id with a 404 before asking the database. */
export function isAttachmentId(value: string): boolean {
  return ATTACHMENT_ID.test(value);
}

export interface SavedAttachment {
  id: string;
  contentType: AttachmentContentType;
  width: number;
  height: number;
  byteSize: number;
  sha256: string;
  createdAt: Date;
}

/** An image as history shows it: no bytes. */
export interface AttachmentMeta {
  id: string;
  messageId: number;
  position: number;
  contentType: AttachmentContentType;
  width: number;
  height: number;
  byteSize: number;
}

export interface AttachmentContent {
  id: string;
  contentType: string;
  bytes: Buffer;
  /** Of the full image, whichever variant was asked for: both derive from it, so it names both. */
  sha256: string;
  /** Null until the message it was attached to is sent. */
  messageId: number | null;
}

/** An image to send to the model with its message. */
export interface ContextImage {
  id: string;
  messageId: number;
  position: number;
  contentType: AttachmentContentType;
  bytes: Buffer;
  width: number;
  height: number;
}

export type AttachmentVariant = 'full' | 'thumbnail';

/** Stored unsent: `claimAttachments` links it to the message it is sent with. */
export async function saveAttachment(db: Db, userId: string, image: NormalisedImage): Promise<SavedAttachment> {
  const [row] = await db
    .insert(attachments)
    .values({
      id: newAttachmentId(),
      userId,
      contentType: image.contentType,
      bytes: image.bytes,
      byteSize: image.bytes.byteLength,
      width: image.width,
      height: image.height,
      thumbnail: image.thumbnail.bytes,
      thumbnailContentType: image.thumbnail.contentType,
      sha256: image.sha256,
    })
    .returning({
      id: attachments.id,
      contentType: attachments.contentType,
      width: attachments.width,
      height: attachments.height,
      byteSize: attachments.byteSize,
      sha256: attachments.sha256,
      createdAt: attachments.createdAt,
    });
  if (!row) throw new Error('insert returned no row');
  return row;
}

/** The user's attachment, sent or not; undefined for anyone else's and for an unknown id (both are 404). */
export async function getAttachment(
  db: Db,
  userId: string,
  id: string,
  variant: AttachmentVariant,
): Promise<AttachmentContent | undefined> {
  const [row] = await db
    .select({
      id: attachments.id,
      contentType: variant === 'full' ? attachments.contentType : attachments.thumbnailContentType,
      bytes: variant === 'full' ? attachments.bytes : attachments.thumbnail,
      sha256: attachments.sha256,
      messageId: attachments.messageId,
    })
    .from(attachments)
    .where(and(eq(attachments.id, id), eq(attachments.userId, userId)));
  return row;
}

/**
 * Links the user's unsent attachments to their message, `position` following the order of `ids`. All or
 * nothing: if any id is unknown, another user's or already sent, nothing is linked and `AttachmentNotFound`
 * is thrown (the caller cannot tell which, as with any other id of someone else's). Runs in a savepoint
 * when `db` is the caller's transaction, so the message and its images can be written together.
 */
export async function claimAttachments(db: Db, userId: string, ids: readonly string[], messageId: number): Promise<AttachmentMeta[]> {
  if (ids.length === 0) return [];
  if (ids.length > MAX_ATTACHMENTS_PER_MESSAGE) {
    throw new ValidationError(`At most ${MAX_ATTACHMENTS_PER_MESSAGE} images can be attached to a message.`, 'attachments');
  }
  if (new Set(ids).size !== ids.length) throw new ValidationError('The same image is attached twice.', 'attachments');
  const positionOf = sql.join(
    ids.map((id, position) => sql`when ${id} then ${sql.raw(String(position))}`),
    sql` `,
  );
  return db.transaction(async (tx) => {
    const claimed = await tx
      .update(attachments)
      .set({ messageId, position: sql`case ${attachments.id} ${positionOf} end` })
      .where(
        and(
          inArray(attachments.id, [...ids]),
          eq(attachments.userId, userId),
          // A row a concurrent claim linked first no longer matches once its lock is released: never sent twice.
          isNull(attachments.messageId),
          sql`exists (select 1 from ${conversations} where ${conversations.id} = ${messageId} and ${conversations.userId} = ${userId})`,
        ),
      )
      .returning(metaColumns);
    if (claimed.length !== ids.length) throw new AttachmentNotFound();
    return claimed.map(linked).sort((a, b) => a.position - b.position);
  });
}

/** The messages' attachments without their bytes, by message then position. */
export async function attachmentsOfMessages(db: Db, userId: string, messageIds: readonly number[]): Promise<AttachmentMeta[]> {
  if (messageIds.length === 0) return [];
  const rows = await prepared(db).attachmentsOf.execute({ userId, messageIds: [...messageIds] });
  return rows.map(linked);
}

/**
 * The messages' images with their bytes, by message then position. Ask only for the messages whose images
 * fit the context budget (`attachmentsOfMessages` has the sizes `imageTokens` needs): each is up to megabytes.
 */
export async function imagesForContext(db: Db, userId: string, messageIds: readonly number[]): Promise<ContextImage[]> {
  if (messageIds.length === 0) return [];
  const rows = await prepared(db).imagesOf.execute({ userId, messageIds: [...messageIds] });
  return rows.map(linked);
}

/** Uploads never sent with a message, created before `olderThan`. Returns how many were deleted. */
export async function sweepUnsentAttachments(db: Db, olderThan: Date): Promise<number> {
  const deleted = await db
    .delete(attachments)
    .where(and(isNull(attachments.messageId), lt(attachments.createdAt, olderThan)))
    .returning({ id: attachments.id });
  return deleted.length;
}

const metaColumns = {
  id: attachments.id,
  messageId: attachments.messageId,
  position: attachments.position,
  contentType: attachments.contentType,
  width: attachments.width,
  height: attachments.height,
  byteSize: attachments.byteSize,
};

type Linked<Row> = Omit<Row, 'messageId' | 'position'> & { messageId: number; position: number };

/** Rows read by message id are linked, so both are set (the table's check ties them); the types cannot know. */
function linked<Row extends { messageId: number | null; position: number | null }>(row: Row): Linked<Row> {
  return { ...row, messageId: row.messageId ?? 0, position: row.position ?? 0 };
}

/** History and every turn's context read these: prepared once per database, as the message store's are. */
function prepare(db: Db) {
  const ofMessages = and(
    sql`${attachments.messageId} = any(${sql.placeholder('messageIds')}::int[])`,
    eq(attachments.userId, sql.placeholder('userId')),
  );
  return {
    attachmentsOf: db
      .select(metaColumns)
      .from(attachments)
      .where(ofMessages)
      .orderBy(asc(attachments.messageId), asc(attachments.position))
      .prepare('fixthread_attachments_of_messages'),
    imagesOf: db
      .select({
        id: attachments.id,
        messageId: attachments.messageId,
        position: attachments.position,
        contentType: attachments.contentType,
        bytes: attachments.bytes,
        width: attachments.width,
        height: attachments.height,
      })
      .from(attachments)
      .where(ofMessages)
      .orderBy(asc(attachments.messageId), asc(attachments.position))
      .prepare('fixthread_images_for_context'),
  };
}

const byDb = new WeakMap<Db, ReturnType<typeof prepare>>();

function prepared(db: Db): ReturnType<typeof prepare> {
  let statements = byDb.get(db);
  if (!statements) {
    statements = prepare(db);
    byDb.set(db, statements);
  }
  return statements;
}
