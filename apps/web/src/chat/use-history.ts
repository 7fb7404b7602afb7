import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../trpc';

/** How much of the thread the view shows; the server's maximum is 200. */
export const HISTORY_INPUT = { limit: 100 };

export function useHistoryOptions() {
  return useTRPC().chat.history.queryOptions(HISTORY_INPUT);
}

export function useHistory() {
  return useQuery(useHistoryOptions());
}
