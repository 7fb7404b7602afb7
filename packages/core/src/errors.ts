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
    | 'UPSTREAM_UNAVAILABLE'
    | 'DATABASE_UNAVAILABLE'
    | 'NOT_FOUND'
    | 'CONFLICT';
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
