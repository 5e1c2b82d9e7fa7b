import { createHash } from 'node:crypto';

/**
 * A JSON answer already serialized, with its strong ETag: what the catalogue keeps in its cache, so
 * that a cached answer costs no serialization and a client's refresh with `If-None-Match` a 304. A
 * route handler returns it like any value; the route helper sends the bytes and answers 304 itself.
 */
export class JsonBody {
  readonly json: string;
  readonly etag: string;
  #bytes: Buffer | undefined;

  constructor(json: string, etag?: string) {
    this.json = json;
    this.etag = etag ?? etagOf(json);
  }

  /**
   * The UTF-8 bytes, encoded once: a cached body sent many times is then a copy, not an encoding
   * per answer (encoding a 20 KB string was the largest cost of a cache hit, bench/api.ts).
   */
  get bytes(): Buffer {
    this.#bytes ??= Buffer.from(this.json, 'utf8');
    return this.#bytes;
  }

  static of(value: unknown): JsonBody {
    return new JsonBody(JSON.stringify(value));
  }

  /** Back from a cache that stores plain data (Redis): `{ json, etag }`. */
  static revive(stored: { json: string; etag: string } | JsonBody): JsonBody {
    return stored instanceof JsonBody ? stored : new JsonBody(stored.json, stored.etag);
  }

  /** The same object with fields added after the shared cache (per-caller data): a new body and ETag. */
  withFields(fields: Record<string, unknown>): JsonBody {
    const extra = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
      .join(',');
    if (!extra) return this;
    return new JsonBody(this.json === '{}' ? `{${extra}}` : `${this.json.slice(0, -1)},${extra}}`);
  }

  /** What a cache that stores plain data (Redis) keeps: `revive` makes the body again. */
  toJSON(): { json: string; etag: string } {
    return { json: this.json, etag: this.etag };
  }
}

export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/**
 * Whether `If-None-Match` names this validator (weak comparison, `*` matches). Compared here rather
 * than with Koa's `ctx.fresh`, which also honours a request's `Cache-Control: no-cache`: right for a
 * cache, wrong for the origin, since fetch() adds that header to every conditional request.
 */
export function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}
