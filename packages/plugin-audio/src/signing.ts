import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed audio URLs: `expires` (seconds since the epoch) and `signature`, an HMAC-SHA256 (SECRET_KEY)
 * over the path, the rendition and the expiry, so that changing any of them breaks the signature.
 */
export interface SignedParts {
  path: string;
  format: string;
  quality: string;
  expires: number;
}

const payload = (p: SignedParts) => `${p.path}\n${p.format}\n${p.quality}\n${p.expires}`;

export function sign(secret: string, parts: SignedParts): string {
  return createHmac('sha256', secret).update(payload(parts)).digest('base64url');
}

export function signedUrl(secret: string, path: string, format: string, quality: string, ttlSeconds: number, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  const signature = sign(secret, { path, format, quality, expires });
  const q = new URLSearchParams({ format, quality, expires: String(expires), signature });
  return `${path}?${q.toString()}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verify(secret: string, parts: { path: string; format: string; quality: string; expires?: string; signature?: string }, now = Date.now()): SignatureCheck {
  if (parts.expires === undefined || parts.signature === undefined) return { ok: false, reason: 'the URL is not signed (expires and signature are required)' };
  if (!/^\d{1,12}$/.test(parts.expires)) return { ok: false, reason: 'expires is not a timestamp' };
  const expires = Number(parts.expires);
  const expected = Buffer.from(sign(secret, { path: parts.path, format: parts.format, quality: parts.quality, expires }));
  const given = Buffer.from(parts.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'the signature does not match this URL' };
  if (expires * 1000 < now) return { ok: false, reason: 'the signed URL has expired' };
  return { ok: true };
}
