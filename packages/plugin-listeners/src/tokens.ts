import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

/** The `aud` of a listener access token: nothing else in Robian accepts it, and it accepts nothing else. */
export const ACCESS_TOKEN_AUDIENCE = 'robian:listener';
export const ACCESS_TOKEN_ISSUER = 'robian';
/** The JOSE header `typ` of an access token (RFC 9068). */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Refresh tokens start with this, so that a leaked one is recognisable in logs and scanners. */
export const REFRESH_TOKEN_PREFIX = 'rbn_rt_';

/**
 * The HS256 key of access tokens: derived from SECRET_KEY with a purpose label, so that the same
 * secret used elsewhere (signed audio URLs…) never yields a valid listener token.
 */
export function accessTokenKey(secretKey: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', secretKey).update('robian/listeners/access-token/v1').digest());
}

export interface AccessClaims {
  accountId: string;
  sessionId: string;
}

export class AccessTokens {
  readonly #key: Uint8Array;
  readonly ttlSeconds: number;

  constructor(secretKey: string, ttlSeconds: number) {
    this.#key = accessTokenKey(secretKey);
    this.ttlSeconds = ttlSeconds;
  }

  sign(claims: AccessClaims): Promise<string> {
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: ACCESS_TOKEN_TYPE })
      .setSubject(claims.accountId)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setIssuer(ACCESS_TOKEN_ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.#key);
  }

  /** The claims of a valid token; throws on anything else (bad signature, expired, other audience or type). */
  async verify(token: string): Promise<AccessClaims> {
    if (token.length > 4096) throw new Error('token too long');
    const { payload } = await jwtVerify(token, this.#key, {
      algorithms: ['HS256'],
      audience: ACCESS_TOKEN_AUDIENCE,
      issuer: ACCESS_TOKEN_ISSUER,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ['sub', 'exp', 'iat', 'sid'],
    });
    const sid = payload.sid;
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub) || typeof sid !== 'string' || !UUID.test(sid)) throw new Error('malformed claims');
    return { accountId: payload.sub, sessionId: sid };
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

export function newRefreshToken(): string {
  return REFRESH_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Crockford's base 32: no I, L, O, U, so a code read aloud or typed is not misread. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const LINK_LOOKUP_LENGTH = 4;
export const LINK_SECRET_LENGTH = 6;

const randomCode = (length: number) => Array.from({ length }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

/** A link code: a lookup part (finds the row) and a secret part (stored hashed, checked in constant time). */
export function newLinkCode(): { lookup: string; secret: string; display: string } {
  const lookup = randomCode(LINK_LOOKUP_LENGTH);
  const secret = randomCode(LINK_SECRET_LENGTH);
  return { lookup, secret, display: `${lookup}-${secret}` };
}

/** Reads a code as a person typed it: case, spaces and dashes do not matter; O→0, I/L→1. */
export function parseLinkCode(input: string): { lookup: string; secret: string } | undefined {
  const clean = input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (clean.length !== LINK_LOOKUP_LENGTH + LINK_SECRET_LENGTH) return undefined;
  for (const c of clean) if (!ALPHABET.includes(c)) return undefined;
  return { lookup: clean.slice(0, LINK_LOOKUP_LENGTH), secret: clean.slice(LINK_LOOKUP_LENGTH) };
}

export function sameDigest(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
