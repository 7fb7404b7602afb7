import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';

const DEV_SECRET_FILE = 'dev-jwt-secret';
const DEV_TOKEN_LIFETIME = '7d';

/**
 * The dev-mode HS256 secret, created once and kept beside the data it protects so dev sessions survive
 * restarts. Readable by the owner only: anyone who can read it can sign in as anyone.
 */
export function loadOrCreateDevSecret(dataDir: string): Uint8Array {
  const path = join(dataDir, DEV_SECRET_FILE);
  const existing = readSecret(path);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process created it between our read and write: theirs wins.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  chmodSync(path, 0o600);
  const created = readSecret(path);
  if (!created) throw new Error(`${path} is empty; delete it to generate a new dev secret`);
  return created;
}

function readSecret(path: string): Uint8Array | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text ? new TextEncoder().encode(text) : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export interface DevTokenClaims {
  audience?: string | undefined;
  issuer?: string | undefined;
}

export function signDevToken(secret: Uint8Array, userId: string, claims: DevTokenClaims = {}): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(userId).setIssuedAt();
  if (claims.audience) jwt.setAudience(claims.audience);
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  return jwt.setExpirationTime(DEV_TOKEN_LIFETIME).sign(secret);
}
