import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useWsClient } from '../api-provider';
import { useTRPC } from '../trpc';

/**
 * Whether the socket dropped and is reconnecting. When it comes back, the history is refetched: a reply that
 * finished while we were away is saved on the server, and the cached conversation stays on screen meanwhile.
 */
export function useConnectionLost(): boolean {
  const ws = useWsClient();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [lost, setLost] = useState(false);

  useEffect(() => {
    let dropped = false;
    const subscription = ws.connectionState.subscribe({
      next: (state) => {
        if (state.state === 'connecting' && state.error) {
          dropped = true;
          setLost(true);
          return;
        }
        setLost(false);
        if (state.state !== 'pending' || !dropped) return;
        dropped = false;
        void queryClient.invalidateQueries({ queryKey: trpc.chat.pathKey() });
      },
    });
    return () => subscription.unsubscribe();
  }, [ws, trpc, queryClient]);

  return lost;
}
