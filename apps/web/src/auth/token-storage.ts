const TOKEN_KEY = 'fixthread.token';

/** localStorage can throw (private mode, disabled storage); signing in then lasts for the tab only. */
export function readStoredToken(): string | null {
  try {
    return window.localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string): void {
  try {
    window.localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // See readStoredToken.
  }
}

export function forgetToken(): void {
  try {
    window.localStorage.removeItem(TOKEN_KEY);
  } catch {
    // See readStoredToken.
  }
}
