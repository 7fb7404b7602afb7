import type { UploadedAttachment } from './upload-attachment';

/** The server's limit per message (core's MAX_ATTACHMENTS_PER_MESSAGE). */
export const MAX_ATTACHMENTS = 4;

/** What the server stores; anything else it refuses (HEIC with its own advice, see `precheckFile`). */
export const ACCEPTED_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/webp'];

/**
 * The file chooser's `accept`. JPEG comes first and HEIC is left out on purpose: macOS Safari converts a HEIC
 * photo to the first type listed unless `image/heic` is among them, in which case it hands over HEIC, which
 * the server can't read. iOS converts to JPEG whatever is listed.
 */
export const FILE_INPUT_ACCEPT = ACCEPTED_TYPES.join(',');

/**
 * The server's default MAX_IMAGE_BYTES. Only a hint: a larger file is refused here rather than uploaded for
 * nothing, and whatever passes is still the server's to accept or refuse.
 */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

/** The part of a File read before uploading it. */
export interface FileFacts {
  name: string;
  size: number;
  type: string;
}

export type PendingStatus = 'uploading' | 'uploaded' | 'failed';

/** A photo in the composer, from choosing it until the message is sent (or it is removed). */
export interface PendingAttachment {
  /** Local key: the server's id exists only once the upload is done. */
  key: string;
  name: string;
  /** An object URL of the local file, shown at once; the composer revokes it (see usePendingAttachments). */
  previewUrl: string;
  status: PendingStatus;
  /** 0–100, of the bytes sent. */
  progress: number;
  uploaded: UploadedAttachment | null;
  /** Why it failed (the server's words where it answered). */
  error: string | null;
}

export interface PendingState {
  items: readonly PendingAttachment[];
  /** Why files just chosen were not added (a 5th photo, a PDF…), until the next change. */
  notice: string | null;
}

export const NO_ATTACHMENTS: PendingState = Object.freeze({ items: [], notice: null });

export type PendingAction =
  | { type: 'added'; items: readonly PendingAttachment[]; notice: string | null }
  | { type: 'refused'; notice: string }
  | { type: 'progress'; key: string; progress: number }
  | { type: 'uploaded'; key: string; attachment: UploadedAttachment }
  | { type: 'failed'; key: string; error: string }
  | { type: 'removed'; key: string }
  | { type: 'sent' };

const MB = 1024 * 1024;

function megabytes(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

/**
 * Why a file is refused before uploading it, or null to upload it. HEIC (and a file the browser can't name)
 * goes up anyway: the server reads the bytes and explains how to send the photo instead.
 */
export function precheckFile(file: FileFacts): string | null {
  const known = ACCEPTED_TYPES.includes(file.type) || file.type === '' || /^image\/hei[cf]/.test(file.type);
  if (!known) return `${file.name} isn’t a photo FixThread can read: attach a JPEG, PNG or WebP image.`;
  if (file.size > MAX_UPLOAD_BYTES) {
    return `${file.name} is ${megabytes(file.size)}; a photo can be at most ${megabytes(MAX_UPLOAD_BYTES)}.`;
  }
  return null;
}

/**
 * Which of `files` join the `count` photos already there, and what to say about the rest: at most
 * MAX_ATTACHMENTS in all, each passing `precheckFile`.
 */
export function admitFiles<F extends FileFacts>(count: number, files: readonly F[]): { admitted: F[]; notice: string | null } {
  const admitted: F[] = [];
  const problems: string[] = [];
  let overLimit = 0;
  for (const file of files) {
    const problem = precheckFile(file);
    if (problem) {
      problems.push(problem);
    } else if (count + admitted.length >= MAX_ATTACHMENTS) {
      overLimit++;
    } else {
      admitted.push(file);
    }
  }
  if (overLimit > 0) {
    const left = overLimit === 1 ? 'One photo was' : `${overLimit} photos were`;
    problems.push(`You can attach up to ${MAX_ATTACHMENTS} photos to a message. ${left} not added.`);
  }
  return { admitted, notice: problems.length > 0 ? problems.join(' ') : null };
}

function patch(state: PendingState, key: string, change: Partial<PendingAttachment>): PendingState {
  if (!state.items.some((item) => item.key === key)) return state;
  return { ...state, items: state.items.map((item) => (item.key === key ? { ...item, ...change } : item)) };
}

export function pendingReducer(state: PendingState, action: PendingAction): PendingState {
  switch (action.type) {
    case 'added': {
      // admitFiles decided against the count it was given; the limit holds even if two additions raced.
      const room = Math.max(0, MAX_ATTACHMENTS - state.items.length);
      return { items: [...state.items, ...action.items.slice(0, room)], notice: action.notice };
    }
    case 'refused':
      return { ...state, notice: action.notice };
    case 'progress': {
      const item = state.items.find((candidate) => candidate.key === action.key);
      if (item?.status !== 'uploading') return state;
      return patch(state, action.key, { progress: Math.min(100, Math.max(item.progress, Math.round(action.progress))) });
    }
    case 'uploaded':
      return patch(state, action.key, { status: 'uploaded', progress: 100, uploaded: action.attachment, error: null });
    case 'failed':
      return patch(state, action.key, { status: 'failed', error: action.error });
    case 'removed':
      return { items: state.items.filter((item) => item.key !== action.key), notice: null };
    case 'sent':
      return NO_ATTACHMENTS;
  }
}

/**
 * Why the message can't be sent yet because of its photos, or null: one still uploading, or one refused (it
 * would silently not go with the question; removing it is the user's call).
 */
export function sendBlocker(state: PendingState): 'uploading' | 'failed' | null {
  if (state.items.some((item) => item.status === 'uploading')) return 'uploading';
  if (state.items.some((item) => item.status === 'failed')) return 'failed';
  return null;
}

/** The uploads a message names, in the order shown. */
export function uploadedAttachments(state: PendingState): UploadedAttachment[] {
  return state.items.flatMap((item) => (item.uploaded ? [item.uploaded] : []));
}
