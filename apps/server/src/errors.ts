import { DomainError, isResettingLimit, ValidationError } from '@fixthread/core';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { z } from 'zod';
import { HeadersTooLarge, TooManySubscriptions, UrlTooLong } from './security/limit-errors';
import { InvalidUtf8Body } from './strict-utf8-body';
import { toValidationError } from './validation';

/**
 * The one mapping from errors to what users may see, used by Fastify's error handler, the SSE stream and
 * tRPC's errorFormatter. Anything not recognised here is internal: it is logged by the caller and answered
 * with a fixed message, so stack traces, SQL and driver messages never leave the server.
 */
export interface PublicError {
  status: number;
  code: string;
  message: string;
  details?: { field: string };
  /** A limit that lifts by itself (429): seconds until it does, sent as `Retry-After`. */
  retryAfterSeconds?: number;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: { field: string } };
}

const DOMAIN_STATUS: Record<DomainError['code'], number> = {
  VALIDATION: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  QUOTA_EXCEEDED: 429,
  RATE_LIMITED: 429,
  UPSTREAM_UNAVAILABLE: 503,
  DATABASE_UNAVAILABLE: 503,
  UNSUPPORTED_IMAGE: 415,
  IMAGE_TOO_LARGE: 413,
  IMAGE_TOO_MANY_PIXELS: 422,
  ATTACHMENT_NOT_FOUND: 404,
  MODEL_CANNOT_SEE_IMAGES: 422,
};

/** A socket still open while the server shuts down asked for a new turn: another instance should take it. */
export class ServerShuttingDown extends Error {
  constructor() {
    super('The server is restarting; please try again in a moment.');
    this.name = 'ServerShuttingDown';
  }
}

export const INTERNAL_ERROR: PublicError = { status: 500, code: 'INTERNAL', message: 'Internal server error' };

/** Fastify's own client errors, reworded where the default says little. */
const FASTIFY_ERRORS: Record<string, Omit<PublicError, 'status'>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON', message: 'Request body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON', message: 'Request body is empty; send a JSON object' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the body as application/json' },
};

export function toPublicError(error: unknown): PublicError {
  if (error instanceof ValidationError) return fromValidation(error);
  if (isResettingLimit(error)) return { ...fromDomain(error), retryAfterSeconds: secondsUntil(error.resetsAt) };
  if (error instanceof DomainError) return fromDomain(error);
  if (error instanceof z.ZodError) return fromValidation(toValidationError(error));
  if (error instanceof ServerShuttingDown) return { status: 503, code: 'SHUTTING_DOWN', message: error.message };
  if (error instanceof InvalidUtf8Body) return { status: 400, code: 'INVALID_UTF8', message: error.message };
  if (error instanceof UrlTooLong) return { status: 414, code: 'URL_TOO_LONG', message: error.message };
  if (error instanceof HeadersTooLarge) return { status: 431, code: 'HEADERS_TOO_LARGE', message: error.message };
  if (error instanceof TooManySubscriptions) return { status: 429, code: 'TOO_MANY_SUBSCRIPTIONS', message: error.message };
  return fromFastifyClientError(error) ?? INTERNAL_ERROR;
}

function fromDomain(error: DomainError): PublicError {
  return { status: DOMAIN_STATUS[error.code], code: error.code, message: error.message };
}

/** Whole seconds, rounded up, and at least 1: a client that waits that long finds the limit lifted. */
export function secondsUntil(at: Date, now = Date.now()): number {
  return Math.max(1, Math.ceil((at.getTime() - now) / 1000));
}

function fromValidation(error: ValidationError): PublicError {
  return {
    status: 400,
    code: 'VALIDATION',
    message: error.message,
    ...(error.field ? { details: { field: error.field } } : {}),
  };
}

function fromFastifyClientError(error: unknown): PublicError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { statusCode, code, message } = error as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return undefined;
  if (typeof code !== 'string' || !code.startsWith('FST_')) return undefined;
  const known = FASTIFY_ERRORS[code];
  if (known) return { status: statusCode, ...known };
  return { status: statusCode, code: 'BAD_REQUEST', message: typeof message === 'string' ? message : 'Bad request' };
}

export function errorBody(error: PublicError): ErrorBody {
  return { error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } };
}

/** Worth a log line with the cause: our fault or an upstream's, never the client's. */
export function isServerSide(error: PublicError): boolean {
  return error.status >= 500;
}

const TRPC_CODE_BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  408: 'TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'BAD_REQUEST',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  431: 'BAD_REQUEST',
  503: 'SERVICE_UNAVAILABLE',
};

export function trpcCodeFor(error: PublicError): TRPC_ERROR_CODE_KEY {
  return TRPC_CODE_BY_STATUS[error.status] ?? 'INTERNAL_SERVER_ERROR';
}
