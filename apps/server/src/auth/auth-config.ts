import type { Env } from '../env';
import { loadOrCreateDevSecret, signDevToken } from './dev-auth';
import { createTokenVerifier, type VerifyToken } from './verify-token';

export type AuthMode = 'dev' | 'jwt';

export interface AuthConfig {
  mode: AuthMode;
  verify: VerifyToken;
  /** Only in dev mode: mints a token for any user id, for the dev sign-in screen. */
  signDevToken: ((userId: string) => Promise<string>) | null;
}

export function authFromEnv(env: Env): AuthConfig {
  const claims = { audience: env.JWT_AUDIENCE, issuer: env.JWT_ISSUER };
  if (env.JWT_SECRET || env.JWKS_URL) {
    const secret = env.JWT_SECRET ? new TextEncoder().encode(env.JWT_SECRET) : undefined;
    return {
      mode: 'jwt',
      verify: createTokenVerifier({ secret, jwksUrl: env.JWKS_URL, ...claims }),
      signDevToken: null,
    };
  }
  // loadEnv already refuses this; repeated because a hand-built Env must not open dev sign-in in production.
  if (env.NODE_ENV === 'production') throw new Error('JWT_SECRET or JWKS_URL must be set when NODE_ENV=production');
  const secret = loadOrCreateDevSecret(env.DATA_DIR);
  return {
    mode: 'dev',
    verify: createTokenVerifier({ secret, ...claims }),
    signDevToken: (userId) => signDevToken(secret, userId, claims),
  };
}
