import { UnauthorizedError } from '@fixthread/core';
import type { AuthenticatedUser, VerifyToken } from './verify-token';

/** `Authorization: Bearer <token>`, scheme case-insensitive as RFC 7235 says. */
export function bearerToken(authorization: string | undefined): string {
  if (!authorization) throw new UnauthorizedError('Missing Authorization header');
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
  if (!match?.[1]) throw new UnauthorizedError('Authorization header must be "Bearer <token>"');
  return match[1];
}

export function authenticateHeader(verify: VerifyToken, authorization: string | undefined): Promise<AuthenticatedUser> {
  return verify(bearerToken(authorization));
}

/** Tokens are checked once per WebSocket connection, so long-lived connections re-check expiry per call. */
export function assertNotExpired(user: AuthenticatedUser, now = Date.now()): void {
  if (user.expiresAt <= now) throw new UnauthorizedError('Token expired');
}
