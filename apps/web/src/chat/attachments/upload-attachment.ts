/** What `POST /chat/attachments` answers (201): the photo as the server stored it, not yet sent with a message. */
export interface UploadedAttachment {
  id: string;
  content_type: 'image/jpeg' | 'image/png' | 'image/webp';
  width: number;
  height: number;
  byte_size: number;
  url: string;
  thumbnail_url: string;
}

export const UPLOAD_PATH = '/chat/attachments';

/** An upload the server refused (`status` its HTTP status, `code` its error code), or that never got there (0). */
export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

function serverError(body: unknown): { code?: unknown; message?: unknown } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const { error } = body;
  return typeof error === 'object' && error !== null ? error : undefined;
}

/** Words for a status the server answered without its JSON error body (a proxy's 413, say). */
function fallbackMessage(status: number): string {
  switch (status) {
    case 413:
      return 'That photo is too large to upload.';
    case 415:
      return 'That file isn’t a photo FixThread can read: attach a JPEG, PNG or WebP image.';
    case 422:
      return 'That photo has too many pixels: send a smaller version of it.';
    case 401:
      return 'Your session has ended: sign in again.';
    default:
      return `The photo couldn’t be uploaded (HTTP ${status}). Try again.`;
  }
}

/** The error for a refused upload: the server's own message and code (`{ error: { code, message } }`) when given. */
export function uploadErrorOf(status: number, body: unknown): UploadError {
  const error = serverError(body);
  const message = typeof error?.message === 'string' && error.message !== '' ? error.message : fallbackMessage(status);
  return new UploadError(message, status, typeof error?.code === 'string' ? error.code : undefined);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isUploaded(body: unknown): body is UploadedAttachment {
  return typeof body === 'object' && body !== null && 'id' in body && typeof body.id === 'string';
}

export interface UploadOptions {
  token: string;
  /** Percent of the bytes sent, 0–100. */
  onProgress?: (percent: number) => void;
  /** Aborting rejects with an AbortError and stops the transfer. */
  signal?: AbortSignal;
  /** Where the API is; the page's own origin by default. */
  baseUrl?: string;
}

/**
 * Uploads one photo as `multipart/form-data` (field `file`). XMLHttpRequest, not fetch: only it reports upload
 * progress. Resolves with the stored photo; rejects with an UploadError carrying the server's message.
 */
export function uploadAttachment(file: Blob, { token, onProgress, signal, baseUrl = '' }: UploadOptions): Promise<UploadedAttachment> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException('The upload was cancelled', 'AbortError'));
    const request = new XMLHttpRequest();
    request.open('POST', `${baseUrl}${UPLOAD_PATH}`);
    request.setRequestHeader('Authorization', `Bearer ${token}`);
    request.setRequestHeader('Accept', 'application/json');
    request.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress?.((event.loaded / event.total) * 100);
    };
    const abort = () => request.abort();
    signal?.addEventListener('abort', abort, { once: true });
    const settle = () => signal?.removeEventListener('abort', abort);
    request.onload = () => {
      settle();
      const body = parseJson(request.responseText);
      if (request.status === 201 && isUploaded(body)) {
        onProgress?.(100);
        return resolve(body);
      }
      reject(uploadErrorOf(request.status, body));
    };
    request.onerror = () => {
      settle();
      reject(new UploadError('Can’t reach FixThread to upload the photo. Check your connection and try again.', 0, undefined));
    };
    request.onabort = () => {
      settle();
      reject(new DOMException('The upload was cancelled', 'AbortError'));
    };
    const form = new FormData();
    form.append('file', file, file instanceof File ? file.name : 'photo');
    request.send(form);
  });
}
