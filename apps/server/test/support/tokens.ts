import { SignJWT, type CryptoKey, type KeyObject } from 'jose';

export const TEST_JWT_SECRET = 'fixthread-test-secret-0123456789abcdef-0123456789';
export const testSecretKey = new TextEncoder().encode(TEST_JWT_SECRET);

export interface TokenOptions {
  alg?: string;
  key?: Uint8Array | CryptoKey | KeyObject;
  kid?: string;
  /** Seconds since the epoch; `null` leaves the claim out. */
  exp?: number | null;
  audience?: string;
  issuer?: string;
}

/** A token as an identity provider would mint it: HS256 with the test secret unless told otherwise. */
export function signToken(sub: string | undefined, options: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}) });
  if (sub !== undefined) jwt.setSubject(sub);
  jwt.setIssuedAt();
  const exp = options.exp === undefined ? Math.floor(Date.now() / 1000) + 3600 : options.exp;
  if (exp !== null) jwt.setExpirationTime(exp);
  if (options.audience) jwt.setAudience(options.audience);
  if (options.issuer) jwt.setIssuer(options.issuer);
  return jwt.sign(options.key ?? testSecretKey);
}

/** `alg: none` is not something jose will produce, so it is assembled by hand, as an attacker would. */
export function unsignedToken(sub: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 3600;
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub, exp })}.`;
}
