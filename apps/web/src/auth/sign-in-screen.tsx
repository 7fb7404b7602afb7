import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { fetchAuthMode } from './auth-api';
import { DevSignInForm } from './dev-sign-in-form';
import { TokenSignInForm } from './token-sign-in-form';

interface SignInScreenProps {
  /** Why the user is here again (an expired session), if that's the reason. */
  notice: string | null;
  onSignedIn: (token: string) => void;
}

export function SignInScreen({ notice, onSignedIn }: SignInScreenProps) {
  const mode = useQuery({ queryKey: ['auth', 'mode'], queryFn: fetchAuthMode, staleTime: Infinity });
  const [useToken, setUseToken] = useState(false);
  const showDev = mode.data === 'dev' && !useToken;

  return (
    <main className="sign-in">
      <div className="sign-in-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          <span>FixThread</span>
        </div>
        <h1 className="sign-in-title">Fix it yourself, with a guide</h1>
        <p className="sign-in-lede">Describe what’s broken. FixThread finds the right iFixit repair guide and walks you through it.</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {mode.isPending && <p className="muted" role="status">Connecting…</p>}
        {mode.isError && (
          <div className="inline-error" role="alert">
            <p>Can’t reach the server.</p>
            <button type="button" className="button" onClick={() => void mode.refetch()}>
              Retry
            </button>
          </div>
        )}
        {mode.isSuccess && (showDev ? <DevSignInForm onSignedIn={onSignedIn} /> : <TokenSignInForm onSignedIn={onSignedIn} />)}
        {mode.data === 'dev' && (
          <button type="button" className="link-button" onClick={() => setUseToken(!useToken)}>
            {useToken ? 'Sign in with a name instead' : 'I have a token'}
          </button>
        )}
      </div>
    </main>
  );
}
