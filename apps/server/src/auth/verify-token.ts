import { UnauthorizedError } from '@fixthread/core';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { parseUserId } from './user-id';

export interface AuthenticatedUser {
  userId: string;
  /** Epoch ms; a WebSocket outlives its token, so each call re-checks this. */
  expiresAt: number;
}

export type VerifyToken = (token: string) => Promise<AuthenticatedUser>;

export interface TokenVerifierOptions {
  /** HS256 key bytes. */
  secret?: Uint8Array | undefined;
  jwksUrl?: string | undefined;
  audience?: string | undefined;
  issuer?: string | undefined;
}

/** Asymmetric algorithms accepted from a JWKS; HMAC is never accepted there, so a public key can't be used as a secret. */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/**
 * Verifies a bearer JWT. Algorithms are pinned per key source: HS256 for the shared secret, asymmetric ones
 * for the JWKS. `alg: none`, other HMAC variants and unsigned or expired tokens are all rejected, and every
 * token must carry `exp` and a usable `sub`.
 */
export function createTokenVerifier(options: TokenVerifierOptions): VerifyToken {
  const { secret, jwksUrl } = options;
  if (!secret && !jwksUrl) throw new Error('createTokenVerifier needs a secret or a JWKS URL');
  const jwks = jwksUrl ? createRemoteJWKSet(new URL(jwksUrl)) : undefined;
  const algorithms = [...(secret ? ['HS256'] : []), ...(jwks ? JWKS_ALGORITHMS : [])];
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.alg === 'HS256' && secret) return secret;
    if (jwks) return jwks(header, token);
    throw new UnauthorizedError('Invalid token');
  };
  const verifyOptions: JWTVerifyOptions = {
    algorithms,
    audience: options.audience,
    issuer: options.issuer,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: 5,
  };

  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, getKey, verifyOptions);
      return { userId: parseUserId(payload.sub), expiresAt: (payload.exp ?? 0) * 1000 };
    } catch (error) {
      throw toUnauthorized(error);
    }
  };
}

function toUnauthorized(error: unknown): UnauthorizedError {
  if (error instanceof UnauthorizedError) return error;
  if (error instanceof joseErrors.JWTExpired) return new UnauthorizedError('Token expired');
  return new UnauthorizedError('Invalid token');
}
