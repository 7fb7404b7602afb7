export type ChatErrorKind = 'quota' | 'upstream' | 'connection' | 'unauthorized' | 'invalid' | 'unknown';

export interface ChatError {
  kind: ChatErrorKind;
  title: string;
  detail: string;
}

interface ErrorData {
  /** tRPC's code key, e.g. TOO_MANY_REQUESTS. */
  code?: string;
  /** The server's domain code, e.g. QUOTA_EXCEEDED (same as its REST `error.code`). */
  errorCode?: string;
}

function errorData(error: unknown): ErrorData | undefined {
  if (typeof error !== 'object' || error === null || !('data' in error)) return undefined;
  const { data } = error;
  return typeof data === 'object' && data !== null ? data : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error && error.message ? error.message : 'Something went wrong.';
}

/** Turns any failure of a tRPC call into words for the user and the kind of remedy it needs. */
export function describeError(error: unknown): ChatError {
  const data = errorData(error);
  const code = data?.errorCode ?? data?.code;
  switch (code) {
    case 'QUOTA_EXCEEDED':
    case 'TOO_MANY_REQUESTS':
      return { kind: 'quota', title: 'Token quota reached', detail: messageOf(error) };
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
  return errorData(error)?.code === 'UNAUTHORIZED';
}

/** The thread (or message) asked for doesn't exist, or isn't this user's: both are 404s. */
export function isNotFound(error: unknown): boolean {
  const data = errorData(error);
  return data?.code === 'NOT_FOUND' || data?.errorCode === 'NOT_FOUND';
}
