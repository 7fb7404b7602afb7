import { describe, expect, test } from 'vitest';
import {
  admitFiles,
  MAX_ATTACHMENTS,
  MAX_UPLOAD_BYTES,
  NO_ATTACHMENTS,
  pendingReducer,
  precheckFile,
  sendBlocker,
  uploadedAttachments,
  type PendingAttachment,
  type PendingState,
} from './pending-attachments';
import type { UploadedAttachment } from './upload-attachment';

const jpeg = (name: string, size = 200_000) => ({ name, size, type: 'image/jpeg' });

function item(key: string): PendingAttachment {
  return { key, name: `${key}.jpg`, previewUrl: `blob:${key}`, status: 'uploading', progress: 0, uploaded: null, error: null };
}

function uploaded(id: string): UploadedAttachment {
  return {
    id,
    content_type: 'image/jpeg',
    width: 1200,
    height: 900,
    byte_size: 150_000,
    url: `/chat/attachments/${id}`,
    thumbnail_url: `/chat/attachments/${id}/thumbnail`,
  };
}

function withItems(...keys: string[]): PendingState {
  return pendingReducer(NO_ATTACHMENTS, { type: 'added', items: keys.map(item), notice: null });
}

describe('precheckFile', () => {
  test('lets JPEG, PNG and WebP through', () => {
    for (const type of ['image/jpeg', 'image/png', 'image/webp']) expect(precheckFile({ name: 'p', size: 10, type })).toBeNull();
  });

  test('lets HEIC and unnamed types through, for the server to explain', () => {
    expect(precheckFile({ name: 'IMG_0001.HEIC', size: 10, type: 'image/heic' })).toBeNull();
    expect(precheckFile({ name: 'IMG_0001.HEIC', size: 10, type: '' })).toBeNull();
  });

  test('refuses what is plainly not a photo, naming the file', () => {
    expect(precheckFile({ name: 'manual.pdf', size: 10, type: 'application/pdf' })).toBe(
      'manual.pdf isn’t a photo FixThread can read: attach a JPEG, PNG or WebP image.',
    );
  });

  test('refuses a file over the size limit, with both sizes', () => {
    expect(precheckFile({ name: 'big.jpg', size: MAX_UPLOAD_BYTES, type: 'image/jpeg' })).toBeNull();
    expect(precheckFile(jpeg('big.jpg', 15 * 1024 * 1024))).toBe('big.jpg is 15.0 MB; a photo can be at most 10.0 MB.');
  });
});

describe('admitFiles', () => {
  test(`admits up to ${MAX_ATTACHMENTS} photos and says the rest were not added`, () => {
    const files = ['a', 'b', 'c', 'd', 'e'].map((name) => jpeg(name));
    const { admitted, notice } = admitFiles(0, files);
    expect(admitted.map((file) => file.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(notice).toBe('You can attach up to 4 photos to a message. One photo was not added.');
  });

  test('refuses a 5th photo when four are there', () => {
    const { admitted, notice } = admitFiles(4, [jpeg('fifth')]);
    expect(admitted).toEqual([]);
    expect(notice).toMatch(/up to 4 photos/);
  });

  test('counts the photos already there, and more than one refusal', () => {
    const { admitted, notice } = admitFiles(3, [jpeg('x'), jpeg('y'), jpeg('z')]);
    expect(admitted.map((file) => file.name)).toEqual(['x']);
    expect(notice).toBe('You can attach up to 4 photos to a message. 2 photos were not added.');
  });

  test('a refused file does not take a place', () => {
    const { admitted, notice } = admitFiles(3, [{ name: 'notes.txt', size: 5, type: 'text/plain' }, jpeg('ok')]);
    expect(admitted.map((file) => file.name)).toEqual(['ok']);
    expect(notice).toBe('notes.txt isn’t a photo FixThread can read: attach a JPEG, PNG or WebP image.');
  });

  test('says nothing when everything is admitted', () => {
    expect(admitFiles(0, [jpeg('a')]).notice).toBeNull();
  });
});

describe('pendingReducer', () => {
  test('never holds more than the limit, even if two additions raced', () => {
    const state = pendingReducer(withItems('a', 'b', 'c'), { type: 'added', items: [item('d'), item('e')], notice: null });
    expect(state.items.map((pending) => pending.key)).toEqual(['a', 'b', 'c', 'd']);
  });

  test('progress only grows, stays within 0–100, and is whole percent', () => {
    let state = withItems('a');
    state = pendingReducer(state, { type: 'progress', key: 'a', progress: 41.6 });
    expect(state.items[0]?.progress).toBe(42);
    state = pendingReducer(state, { type: 'progress', key: 'a', progress: 10 });
    expect(state.items[0]?.progress).toBe(42);
    state = pendingReducer(state, { type: 'progress', key: 'a', progress: 180 });
    expect(state.items[0]?.progress).toBe(100);
  });

  test('an upload that finished is ready, at 100%', () => {
    const state = pendingReducer(withItems('a'), { type: 'uploaded', key: 'a', attachment: uploaded('att_1') });
    expect(state.items[0]).toMatchObject({ status: 'uploaded', progress: 100, uploaded: { id: 'att_1' } });
    expect(uploadedAttachments(state).map((photo) => photo.id)).toEqual(['att_1']);
  });

  test('progress after the end, or for a removed photo, changes nothing', () => {
    const done = pendingReducer(withItems('a'), { type: 'uploaded', key: 'a', attachment: uploaded('att_1') });
    expect(pendingReducer(done, { type: 'progress', key: 'a', progress: 50 })).toBe(done);
    const removed = pendingReducer(done, { type: 'removed', key: 'a' });
    expect(pendingReducer(removed, { type: 'uploaded', key: 'a', attachment: uploaded('att_1') })).toBe(removed);
    expect(removed.items).toEqual([]);
  });

  test('removing a photo makes room for another, and clears the notice', () => {
    let state = withItems('a', 'b', 'c', 'd');
    state = pendingReducer(state, { type: 'refused', notice: 'You can attach up to 4 photos to a message.' });
    expect(state.notice).not.toBeNull();
    state = pendingReducer(state, { type: 'removed', key: 'b' });
    expect(state.notice).toBeNull();
    state = pendingReducer(state, { type: 'added', items: [item('e')], notice: null });
    expect(state.items.map((pending) => pending.key)).toEqual(['a', 'c', 'd', 'e']);
  });

  test('the message names its uploads in the order shown', () => {
    let state = withItems('a', 'b', 'c');
    state = pendingReducer(state, { type: 'uploaded', key: 'c', attachment: uploaded('att_c') });
    state = pendingReducer(state, { type: 'uploaded', key: 'a', attachment: uploaded('att_a') });
    state = pendingReducer(state, { type: 'removed', key: 'b' });
    expect(uploadedAttachments(state).map((photo) => photo.id)).toEqual(['att_a', 'att_c']);
  });

  test('sending empties it', () => {
    expect(pendingReducer(withItems('a'), { type: 'sent' })).toBe(NO_ATTACHMENTS);
  });
});

describe('sendBlocker', () => {
  test('sending waits while a photo uploads', () => {
    let state = withItems('a', 'b');
    state = pendingReducer(state, { type: 'uploaded', key: 'a', attachment: uploaded('att_a') });
    expect(sendBlocker(state)).toBe('uploading');
    state = pendingReducer(state, { type: 'uploaded', key: 'b', attachment: uploaded('att_b') });
    expect(sendBlocker(state)).toBeNull();
  });

  test('a refused photo holds the message back until it is removed', () => {
    let state = pendingReducer(withItems('a'), { type: 'failed', key: 'a', error: 'HEIC photos are not supported yet' });
    expect(state.items[0]).toMatchObject({ status: 'failed', error: 'HEIC photos are not supported yet' });
    expect(sendBlocker(state)).toBe('failed');
    state = pendingReducer(state, { type: 'removed', key: 'a' });
    expect(sendBlocker(state)).toBeNull();
  });

  test('no photos, nothing to wait for', () => {
    expect(sendBlocker(NO_ATTACHMENTS)).toBeNull();
  });
});
