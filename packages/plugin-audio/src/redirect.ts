import type { Context } from 'koa';
import type { StoredFile, UrlOptions } from './storage.ts';

export interface RedirectOptions {
  /** The storage's `url`. */
  url: (key: string, o?: UrlOptions) => Promise<string>;
  file: StoredFile;
  contentType: string;
  /** Downloads: the storage server is asked to answer with this Content-Disposition. */
  disposition?: string | undefined;
  /** How long the client may keep the 302 (well under the URL's remaining life). */
  maxAgeSeconds: number;
  onPlay?: () => void;
}

/**
 * The redirect delivery mode: 302 to where the bytes are (a presigned GET of bounded life, or the
 * public/CDN URL); the storage server answers ranges and validators itself. Robian's own signed-URL
 * check has run before (the route), so the presigned URL is only handed to a client Robian accepted.
 */
export async function redirectToStorage(ctx: Context, o: RedirectOptions): Promise<void> {
  const location = await o.url(o.file.key, { contentType: o.contentType, ...(o.disposition ? { disposition: o.disposition } : {}) });
  ctx.redirect(location);
  ctx.status = 302;
  ctx.set('Cache-Control', `private, max-age=${Math.max(0, Math.floor(o.maxAgeSeconds))}`);
  if (ctx.method !== 'HEAD') o.onPlay?.();
}
