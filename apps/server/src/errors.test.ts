import { ConflictError, NotFoundError, QuotaExceeded, UnauthorizedError, UpstreamUnavailable, ValidationError } from '@fixthread/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorBody, isServerSide, toPublicError, trpcCodeFor } from './errors';

describe('toPublicError', () => {
  it.each([
    [new ValidationError('message must not be empty', 'message'), 400, 'VALIDATION', 'BAD_REQUEST'],
    [new UnauthorizedError(), 401, 'UNAUTHORIZED', 'UNAUTHORIZED'],
    [new NotFoundError('gone'), 404, 'NOT_FOUND', 'NOT_FOUND'],
    [new ConflictError('busy'), 409, 'CONFLICT', 'CONFLICT'],
    [new QuotaExceeded(), 429, 'QUOTA_EXCEEDED', 'TOO_MANY_REQUESTS'],
    [new UpstreamUnavailable(), 503, 'UPSTREAM_UNAVAILABLE', 'SERVICE_UNAVAILABLE'],
  ])('maps %o to %i / %s / tRPC %s', (error, status, code, trpcCode) => {
    const visible = toPublicError(error);
    expect(visible).toMatchObject({ status, code, message: error.message });
    expect(trpcCodeFor(visible)).toBe(trpcCode);
  });

  it('names the field of a validation error', () => {
    expect(errorBody(toPublicError(new ValidationError('too long', 'message')))).toEqual({
      error: { code: 'VALIDATION', message: 'too long', details: { field: 'message' } },
    });
  });

  it('turns a zod error into a validation error on its first issue', () => {
    const result = z.object({ limit: z.number() }).safeParse({ limit: 'x' });
    expect(result.success).toBe(false);
    expect(toPublicError(result.error)).toMatchObject({ status: 400, code: 'VALIDATION', details: { field: 'limit' } });
  });

  it('hides everything about an unknown error', () => {
    const leaky = Object.assign(new Error('relation "conversations" does not exist at SELECT * FROM ...'), { code: '42P01' });
    const visible = toPublicError(leaky);
    expect(visible).toEqual({ status: 500, code: 'INTERNAL', message: 'Internal server error' });
    expect(isServerSide(visible)).toBe(true);
    expect(trpcCodeFor(visible)).toBe('INTERNAL_SERVER_ERROR');
  });

  it('keeps Fastify client errors but not errors that merely carry a 4xx statusCode', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
    expect(toPublicError(tooLarge)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const upstream = Object.assign(new Error('upstream said 404 for /internal/path'), { statusCode: 404 });
    expect(toPublicError(upstream)).toMatchObject({ status: 500, code: 'INTERNAL' });
  });
});
