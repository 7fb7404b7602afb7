import type { DomainError } from '@fixthread/core';
import { TRPCClientError } from '@trpc/client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ERROR_CODES, errorCodeOf, type ErrorCode } from '../src/index';

/** A client error as tRPC builds it from the server's error shape (apps/server/src/trpc/trpc.ts). */
function serverError(data: { code: string; errorCode?: string }) {
  return TRPCClientError.from({ error: { code: -32000, message: 'failed', data: { httpStatus: 0, ...data } } });
}

describe('error codes', () => {
  it('lists every code of core’s typed errors, once', () => {
    // Checked when the package typechecks: fails when core gains an error code this package doesn't list.
    expectTypeOf<DomainError['code']>().toExtend<ErrorCode>();
    expect(ERROR_CODES).toEqual(expect.arrayContaining(['VALIDATION', 'UNAUTHORIZED', 'QUOTA_EXCEEDED', 'INTERNAL']));
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  it('reads the server’s code first, then tRPC’s', () => {
    expect(errorCodeOf(serverError({ code: 'TOO_MANY_REQUESTS', errorCode: 'QUOTA_EXCEEDED' }))).toBe('QUOTA_EXCEEDED');
    expect(errorCodeOf(serverError({ code: 'METHOD_NOT_SUPPORTED' }))).toBe('METHOD_NOT_SUPPORTED');
  });

  it('has no code for a call that got no answer', () => {
    expect(errorCodeOf(TRPCClientError.from(new TypeError('fetch failed')))).toBeUndefined();
    expect(errorCodeOf(new Error('WebSocket closed'))).toBeUndefined();
    expect(errorCodeOf(undefined)).toBeUndefined();
  });
});
