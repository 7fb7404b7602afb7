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

  test('a daily budget or rate limit shows the server’s words: which limit, and when it resets', () => {
    const daily = 'Daily token budget of 2000 tokens used up; it resets at 00:00 UTC (in 5 h 12 min).';
    expect(describeError(serverError('TOO_MANY_REQUESTS', 'QUOTA_EXCEEDED', daily))).toMatchObject({ kind: 'quota', detail: daily });
    const rate = 'Rate limit of 5 requests per minute reached; try again at 06:03:02 UTC (in 42 s).';
    expect(describeError(serverError('TOO_MANY_REQUESTS', 'RATE_LIMITED', rate))).toMatchObject({
      kind: 'quota',
      title: 'Too many requests',
      detail: rate,
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

  test('a model that can’t see photos says so in the server’s words, and may be retried', () => {
    const words = "The configured model can't look at photos. Your message is saved: set OPENAI_MODEL to a vision model.";
    const described = describeError(serverError('UNPROCESSABLE_CONTENT', 'MODEL_CANNOT_SEE_IMAGES', words));
    expect(described).toMatchObject({ kind: 'upstream', title: 'The assistant can’t look at photos', detail: words });
  });

  test('a refused or missing photo is not retried', () => {
    expect(describeError(serverError('UNSUPPORTED_MEDIA_TYPE', 'UNSUPPORTED_IMAGE', 'HEIC photos are not supported yet'))).toMatchObject({
      kind: 'invalid',
      detail: 'HEIC photos are not supported yet',
    });
    // tRPC's code is NOT_FOUND, but this is no lost live reply.
    expect(describeError(serverError('NOT_FOUND', 'ATTACHMENT_NOT_FOUND', 'Attachment not found'))).toMatchObject({
      kind: 'invalid',
      title: 'A photo of this message is gone',
    });
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
