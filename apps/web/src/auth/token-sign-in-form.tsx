import { useId, useState, type FormEvent } from 'react';

/** For deployments that verify real JWTs: paste a session token (e.g. a Supabase access token). */
export function TokenSignInForm({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const inputId = useId();
  const hintId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSignedIn(token.trim().replace(/^Bearer\s+/i, ''));
  };

  return (
    <form className="sign-in-form" onSubmit={submit}>
      <label htmlFor={inputId}>Access token</label>
      <textarea
        id={inputId}
        name="token"
        rows={4}
        required
        spellCheck={false}
        autoComplete="off"
        aria-describedby={hintId}
        value={token}
        onChange={(event) => setToken(event.target.value)}
      />
      <p id={hintId} className="hint">
        Paste the JWT from your identity provider (for Supabase: the session’s <code>access_token</code>).
      </p>
      <button type="submit" className="button button-primary" disabled={token.trim() === ''}>
        Sign in
      </button>
    </form>
  );
}
