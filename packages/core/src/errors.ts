import type { ModelCallUsage } from './store/ledger';

/**
 * Domain errors. Transports map them to status codes in one place each (Fastify's error handler and tRPC's
 * errorFormatter); anything that is not a DomainError is an internal error and is never shown to users.
 */
export abstract class DomainError extends Error {
  abstract readonly code:
    | 'VALIDATION'
    | 'UNAUTHORIZED'
    | 'QUOTA_EXCEEDED'
    | 'RATE_LIMITED'
    | 'UPSTREAM_UNAVAILABLE'
    | 'DATABASE_UNAVAILABLE'
    | 'NOT_FOUND'
    | 'CONFLICT'
    | 'UNSUPPORTED_IMAGE'
    | 'IMAGE_TOO_LARGE'
    | 'IMAGE_TOO_MANY_PIXELS'
    | 'ATTACHMENT_NOT_FOUND'
    | 'MODEL_CANNOT_SEE_IMAGES';
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ValidationError';
  }
}

export class UnauthorizedError extends DomainError {
  readonly code = 'UNAUTHORIZED';
  constructor(message = 'Missing or invalid bearer token') {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

export class QuotaExceeded extends DomainError {
  readonly code = 'QUOTA_EXCEEDED';
  constructor(message = 'Token quota exceeded') {
    super(message);
    this.name = 'QuotaExceeded';
  }
}

/** A limit that lifts by itself: the refusal says when, so clients can wait (HTTP `Retry-After`). */
export interface ResettingLimit {
  readonly resetsAt: Date;
}

/** DAILY_TOKEN_QUOTA: the user's UTC day is spent (used plus what running turns set aside). */
export class DailyQuotaExceeded extends QuotaExceeded implements ResettingLimit {
  constructor(
    readonly quota: number,
    readonly resetsAt: Date,
  ) {
    super(`Daily token budget of ${quota} tokens used up; it resets at ${describeReset(resetsAt)}.`);
    this.name = 'DailyQuotaExceeded';
  }
}

/** RATE_LIMIT_PER_MINUTE: the user sent more requests this minute than allowed. */
export class RateLimited extends DomainError implements ResettingLimit {
  readonly code = 'RATE_LIMITED';
  constructor(
    readonly perMinute: number,
    readonly resetsAt: Date,
  ) {
    super(`Rate limit of ${perMinute} requests per minute reached; try again at ${describeReset(resetsAt)}.`);
    this.name = 'RateLimited';
  }
}

export function isResettingLimit(error: unknown): error is DomainError & ResettingLimit {
  return error instanceof DomainError && 'resetsAt' in error && error.resetsAt instanceof Date;
}

/** `00:00 UTC` (with seconds when under an hour away), and how long that is from now. */
function describeReset(at: Date): string {
  const seconds = Math.max(1, Math.ceil((at.getTime() - Date.now()) / 1000));
  const clock = at.toISOString().slice(11, seconds < 3600 ? 19 : 16);
  const minutes = Math.ceil(seconds / 60);
  const wait = seconds < 120 ? `${seconds} s` : minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return `${clock} UTC (in ${wait})`;
}

/** The LLM provider failed after the SDK's own retries. The user message is kept; no reply is stored. */
export class UpstreamUnavailable extends DomainError {
  readonly code = 'UPSTREAM_UNAVAILABLE';
  constructor(
    message = 'The language model is unavailable right now. Please try again.',
    options?: { cause?: unknown },
    /** What the failed call had already consumed (estimated; null when nothing streamed), still charged. */
    readonly spent: ModelCallUsage | null = null,
  ) {
    super(message, options);
    this.name = 'UpstreamUnavailable';
  }
}

/**
 * The database could not be reached, or did not answer within the deadline. Nothing of the failed operation
 * is acknowledged to the user; the server serves again as soon as the database is back.
 */
export class DatabaseUnavailable extends DomainError {
  readonly code = 'DATABASE_UNAVAILABLE';
  constructor(message = 'The database is unavailable right now. Please try again shortly.', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseUnavailable';
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The bytes are not a JPEG, PNG or WebP image (whatever the file's name or declared type), or cannot be decoded. */
export class UnsupportedImage extends DomainError {
  readonly code = 'UNSUPPORTED_IMAGE';
  constructor(message = 'Attach a JPEG, PNG or WebP image.') {
    super(message);
    this.name = 'UnsupportedImage';
  }
}

/** Refused before decoding: more bytes than `MAX_IMAGE_BYTES`. */
export class ImageTooLarge extends DomainError {
  readonly code = 'IMAGE_TOO_LARGE';
  constructor(readonly maxBytes: number) {
    super(`The image is larger than ${formatMegabytes(maxBytes)}.`);
    this.name = 'ImageTooLarge';
  }
}

/**
 * Refused from the header, before decoding: the image claims more pixels than may be decoded. A small file
 * can declare a huge image (a decompression bomb), so the byte limit alone does not bound memory.
 */
export class ImageTooManyPixels extends DomainError {
  readonly code = 'IMAGE_TOO_MANY_PIXELS';
  constructor(message: string) {
    super(message);
    this.name = 'ImageTooManyPixels';
  }
}

/** Unknown, another user's, or (when linking to a message) already sent: the caller cannot tell which. */
export class AttachmentNotFound extends DomainError {
  readonly code = 'ATTACHMENT_NOT_FOUND';
  constructor(message = 'Attachment not found') {
    super(message);
    this.name = 'AttachmentNotFound';
  }
}

/**
 * The configured model refused the message's photos (a text-only model). The message stays stored with its
 * photos, so it can be answered once a vision model is configured.
 */
export class ModelCannotSeeImages extends DomainError {
  readonly code = 'MODEL_CANNOT_SEE_IMAGES';
  constructor(
    message = "The configured model can't look at photos. Your message is saved: set OPENAI_MODEL to a vision model (for example gpt-4o-mini) and send it again, or ask without the photo.",
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelCannotSeeImages';
  }
}

function formatMegabytes(bytes: number): string {
  return `${Number((bytes / (1024 * 1024)).toFixed(1))} MB`;
}
