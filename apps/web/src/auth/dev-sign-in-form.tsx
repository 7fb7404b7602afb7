import { useMutation } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { devLogin } from './auth-api';

/** Dev mode only: the server signs a token for whatever name is typed. */
export function DevSignInForm({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [name, setName] = useState('');
  const login = useMutation({ mutationFn: devLogin, onSuccess: onSignedIn });
  const inputId = useId();
  const hintId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate(name.trim());
  };

  return (
    <form className="sign-in-form" onSubmit={submit}>
      <label htmlFor={inputId}>Your name</label>
      <input
        id={inputId}
        name="userId"
        autoComplete="username"
        autoFocus
        required
        maxLength={64}
        pattern="[A-Za-z0-9_.@\-]+"
        aria-describedby={hintId}
        value={name}
        onChange={(event) => setName(event.target.value)}
      />
      <p id={hintId} className="hint">
        Development sign-in: letters, digits and <code>_ . - @</code>. Each name has its own conversation.
      </p>
      {login.isError && (
        <p className="field-error" role="alert">
          {login.error.message}
        </p>
      )}
      <button type="submit" className="button button-primary" disabled={login.isPending || name.trim() === ''}>
        {login.isPending ? 'Signing in…' : 'Continue'}
      </button>
    </form>
  );
}
