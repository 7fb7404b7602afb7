import { errorCodeOf } from '@fixthread/client';

export type ChatErrorKind = 'quota' | 'upstream' | 'connection' | 'unauthorized' | 'invalid' | 'unknown';

export interface ChatError {
  kind: ChatErrorKind;
  title: string;
  detail: string;
}

function messageOf(error: unknown): string {
  return error instanceof Error && error.message ? error.message : 'Something went wrong.';
}

/** Turns any failure of a tRPC call into words for the user and the kind of remedy it needs. */
export function describeError(error: unknown): ChatError {
  // The server's code (QUOTA_EXCEEDED, as in the REST API), else tRPC's (TOO_MANY_REQUESTS). A limit's
  // message is the server's own: it says which limit was hit and when it resets.
  switch (errorCodeOf(error)) {
    case 'QUOTA_EXCEEDED':
      return { kind: 'quota', title: 'Token quota reached', detail: messageOf(error) };
    case 'RATE_LIMITED':
      return { kind: 'quota', title: 'Too many requests', detail: messageOf(error) };
    case 'TOO_MANY_REQUESTS':
      return { kind: 'quota', title: 'Limit reached', detail: messageOf(error) };
    case 'UPSTREAM_UNAVAILABLE':
    case 'SERVICE_UNAVAILABLE':
      return { kind: 'upstream', title: 'The assistant is unavailable', detail: messageOf(error) };
    case 'DATABASE_UNAVAILABLE':
      return {
        kind: 'upstream',
        title: 'FixThread’s storage is unavailable',
        detail: 'Your conversation can’t be saved or loaded right now. Try again shortly.',
      };
    case 'SHUTTING_DOWN':
      return { kind: 'upstream', title: 'FixThread is restarting', detail: 'Try again in a moment.' };
    case 'UNAUTHORIZED':
      return { kind: 'unauthorized', title: 'Please sign in again', detail: messageOf(error) };
    case 'VALIDATION':
    case 'BAD_REQUEST':
      return { kind: 'invalid', title: 'That message can’t be sent', detail: messageOf(error) };
    case 'CONFLICT':
      // The same clientMessageId with other words: a client bug, not something the user did. Sending it again
      // would conflict again, so it is not offered.
      return {
        kind: 'invalid',
        title: 'This message was already sent',
        detail: 'It wasn’t sent a second time. Reload to see your conversation as it was saved.',
      };
    case 'MODEL_CANNOT_SEE_IMAGES':
      // The question and its photos are saved: Retry answers it again, which works once a vision model is set.
      return { kind: 'upstream', title: 'The assistant can’t look at photos', detail: messageOf(error) };
    case 'UNSUPPORTED_IMAGE':
    case 'IMAGE_TOO_LARGE':
    case 'IMAGE_TOO_MANY_PIXELS':
      return { kind: 'invalid', title: 'That photo can’t be sent', detail: messageOf(error) };
    case 'ATTACHMENT_NOT_FOUND':
      // Unsent photos are deleted after a day, and a photo goes with one message only.
      return {
        kind: 'invalid',
        title: 'A photo of this message is gone',
        detail: 'It is no longer on the server, or went with another message. Attach it again and send.',
      };
    case 'NOT_FOUND':
      // A resumed stream whose turn the server no longer holds: the saved answer is in the history.
      return { kind: 'connection', title: 'The live reply was interrupted', detail: messageOf(error) };
    case undefined:
      return {
        kind: 'connection',
        title: 'Connection lost',
        detail: 'Can’t reach FixThread right now. Check your connection and try again.',
      };
    default:
      return { kind: 'unknown', title: 'Something went wrong', detail: messageOf(error) };
  }
}

export function isUnauthorized(error: unknown): boolean {
  return errorCodeOf(error) === 'UNAUTHORIZED';
}

/** The thread (or message) asked for doesn't exist, or isn't this user's: both are 404s. */
export function isNotFound(error: unknown): boolean {
  return errorCodeOf(error) === 'NOT_FOUND';
}

/** A limit's refusal in the server's words (which limit, when it resets); undefined for any other failure. */
export function limitMessageOf(error: unknown): string | undefined {
  const described = describeError(error);
  return described.kind === 'quota' ? described.detail : undefined;
}
