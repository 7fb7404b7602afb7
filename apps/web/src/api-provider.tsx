import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { connectApi, TRPCProvider, type ApiConnection, type WsClient } from './trpc';

const ApiContext = createContext<ApiConnection | null>(null);

/**
 * One API connection per token. Unmounting (sign out) or a new token closes the socket and drops the cache,
 * so nothing of one user's conversation outlives their session.
 */
export function ApiProvider({ token, children }: { token: string; children: ReactNode }) {
  const queryClient = useQueryClient();
  const [api, setApi] = useState<ApiConnection | null>(null);

  useEffect(() => {
    const connection = connectApi(token);
    setApi(connection);
    return () => {
      connection.close();
      queryClient.clear();
    };
  }, [token, queryClient]);

  if (!api) return null;
  return (
    <ApiContext value={api}>
      <TRPCProvider trpcClient={api.client} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </ApiContext>
  );
}

export function useWsClient(): WsClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useWsClient must be used inside <ApiProvider>');
  return api.ws;
}

/** The signed-in user's bearer token, for plain `fetch` calls to the REST API (an export download). */
export function useApiToken(): string {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApiToken must be used inside <ApiProvider>');
  return api.token;
}
