import { QueryCache, QueryClient } from '@tanstack/react-query';
import { describeError, isNotFound, isUnauthorized } from './chat/describe-error';

const MAX_RETRIES = 2;

/** Only failures that may pass are retried; a 4xx answer will be the same next time. */
function shouldRetry(failureCount: number, error: unknown): boolean {
  // A thread that isn't there (deleted, another user's link) won't be there on a second look either.
  if (isNotFound(error)) return false;
  const kind = describeError(error).kind;
  return failureCount < MAX_RETRIES && (kind === 'connection' || kind === 'upstream' || kind === 'unknown');
}

export function createQueryClient(onUnauthorized: (reason: string) => void): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({
      onError: (error) => {
        if (isUnauthorized(error)) onUnauthorized('Your session has ended. Please sign in again.');
      },
    }),
    defaultOptions: {
      queries: { staleTime: 30_000, retry: shouldRetry },
      mutations: { retry: false },
    },
  });
}
