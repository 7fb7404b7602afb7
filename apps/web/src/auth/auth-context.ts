import { createContext, useContext } from 'react';

export interface Auth {
  /** Forgets the token and returns to the sign-in screen, optionally saying why. */
  signOut: (reason?: string) => void;
}

export const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth must be used inside <AuthContext>');
  return auth;
}
