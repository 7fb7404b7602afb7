import { QueryClientProvider } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiProvider } from './api-provider';
import { AuthContext } from './auth/auth-context';
import { SignInScreen } from './auth/sign-in-screen';
import { forgetToken, readStoredToken, storeToken } from './auth/token-storage';
import { ChatTurnsProvider } from './chat/chat-turns-context';
import { createQueryClient } from './query-client';
import { AnnouncerProvider } from './ui/announcer';
import { Workspace } from './workspace';

export function App() {
  const [token, setToken] = useState(readStoredToken);
  const [notice, setNotice] = useState<string | null>(null);

  const signOut = useCallback((reason?: string) => {
    forgetToken();
    setToken(null);
    setNotice(reason ?? null);
  }, []);
  const [queryClient] = useState(() => createQueryClient(signOut));

  const signIn = (next: string) => {
    storeToken(next);
    setNotice(null);
    setToken(next);
  };

  // Signing in or out in another tab applies here too.
  useEffect(() => {
    const onStorage = () => setToken(readStoredToken());
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);

  const auth = useMemo(() => ({ signOut }), [signOut]);

  return (
    <QueryClientProvider client={queryClient}>
      {token ? (
        <AuthContext value={auth}>
          <ApiProvider key={token} token={token}>
            <ChatTurnsProvider>
              <AnnouncerProvider>
                <Workspace />
              </AnnouncerProvider>
            </ChatTurnsProvider>
          </ApiProvider>
        </AuthContext>
      ) : (
        <SignInScreen notice={notice} onSignedIn={signIn} />
      )}
    </QueryClientProvider>
  );
}
