import { TRPCClientError } from '@trpc/client';
import { describe, expect, test } from 'vitest';
import { describeError, isUnauthorized } from './describe-error';

/** A client error as tRPC builds it from our server's error shape. */
function serverError(code: string, errorCode: string, message: string) {
  return TRPCClientError.from({ error: { code: -32000, message, data: { code, errorCode, httpStatus: 0 } } });
}

describe('describeError', () => {
  test('quota exhaustion', () => {
    expect(describeError(serverError('TOO_MANY_REQUESTS', 'QUOTA_EXCEEDED', 'Token quota exceeded'))).toMatchObject({
      kind: 'quota',
      detail: 'Token quota exceeded',
    });
  });

  test('LLM outage', () => {
    expect(describeError(serverError('SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE', 'down')).kind).toBe('upstream');
  });

  test('a rejected message', () => {
    expect(describeError(serverError('BAD_REQUEST', 'VALIDATION', 'message must not be empty')).kind).toBe('invalid');
  });

  test('a database outage says the storage is unavailable, not the assistant', () => {
    const described = describeError(serverError('SERVICE_UNAVAILABLE', 'DATABASE_UNAVAILABLE', 'Database unavailable'));
    expect(described).toMatchObject({ kind: 'upstream', title: 'FixThread’s storage is unavailable' });
    expect(described.detail).toMatch(/try again shortly/i);
  });

  test('a server shutting down asks to try again in a moment', () => {
    const described = describeError(serverError('SERVICE_UNAVAILABLE', 'SHUTTING_DOWN', 'The server is restarting'));
    expect(described).toMatchObject({ kind: 'upstream', title: 'FixThread is restarting' });
    expect(described.detail).toMatch(/try again in a moment/i);
  });

  test('a conflicting clientMessageId says the message was already sent, and is not retried', () => {
    const described = describeError(serverError('CONFLICT', 'CONFLICT', 'This idempotency key was already used'));
    expect(described).toMatchObject({ kind: 'invalid', title: 'This message was already sent' });
  });

  test('a network failure carries no server data', () => {
    expect(describeError(TRPCClientError.from(new TypeError('Failed to fetch'))).kind).toBe('connection');
    expect(describeError(new Error('WebSocket closed')).kind).toBe('connection');
  });

  test('unauthorized is recognised for signing out', () => {
    expect(isUnauthorized(serverError('UNAUTHORIZED', 'UNAUTHORIZED', 'Token expired'))).toBe(true);
    expect(isUnauthorized(new Error('x'))).toBe(false);
  });
});
