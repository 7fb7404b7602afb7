import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';

/**
 * The codes the server answers a failure with: a tRPC error's `data.errorCode`, and the REST API's
 * `error.code` (apps/server/src/errors.ts maps each error to one). test/error-codes.test.ts fails to
 * typecheck when core's DomainError has a code this list lacks.
 */
export const ERROR_CODES = [
  'VALIDATION',
  'UNAUTHORIZED',
  'NOT_FOUND',
  'CONFLICT',
  'UNSUPPORTED_IMAGE',
  'IMAGE_TOO_LARGE',
  'IMAGE_TOO_MANY_PIXELS',
  'ATTACHMENT_NOT_FOUND',
  'MODEL_CANNOT_SEE_IMAGES',
  'QUOTA_EXCEEDED',
  'RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'DATABASE_UNAVAILABLE',
  'SHUTTING_DOWN',
  'INVALID_JSON',
  'INVALID_UTF8',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'BAD_REQUEST',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** tRPC's own code keys (`data.code`): what an error the server did not raise itself carries, e.g. METHOD_NOT_SUPPORTED. */
export type TRPCErrorCode = TRPC_ERROR_CODE_KEY;

interface ErrorData {
  code?: TRPCErrorCode;
  errorCode?: ErrorCode | TRPCErrorCode;
}

function errorDataOf(error: unknown): ErrorData | undefined {
  if (typeof error !== 'object' || error === null || !('data' in error)) return undefined;
  const { data } = error;
  return typeof data === 'object' && data !== null ? data : undefined;
}

/**
 * The code of a failed call: the server's (`data.errorCode`, the REST API's code), else tRPC's (`data.code`).
 * Undefined when no answer came (a dropped connection, a server out of reach).
 */
export function errorCodeOf(error: unknown): ErrorCode | TRPCErrorCode | undefined {
  const data = errorDataOf(error);
  return data?.errorCode ?? data?.code;
}
