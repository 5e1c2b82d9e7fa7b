import { ConfigError, ProblemError, type AuthRegistry, type RobianConfig, type RobianContext } from '@robian/core';
import type { Priority } from './jobs.ts';
import { FORMATS, MASTER, defaultQuality, normaliseQuality, type AudioFormat, type Rendition } from './renditions.ts';

/** The priorities anyone may ask for; `high` and `urgent` need the admin key. */
export const PUBLIC_PRIORITIES: readonly Priority[] = ['low', 'normal'];

const key = (r: Rendition) => `${r.format}/${r.quality}`;

/**
 * Who may queue what. Anonymous and listener callers may queue only the public renditions — by
 * default the configured default rendition, the AAC master (every other rendition derives from it)
 * and mp3/192k (what the original RobianAPI's clients ask for when they name nothing) — at `low` or
 * `normal`. Anything else (WAV, mp3 320k, `urgent`, …) needs the admin key: a 403 naming what is allowed.
 */
export class ExtractionPolicy {
  readonly renditions: readonly Rendition[];
  readonly #allowed: Set<string>;
  readonly #auth: AuthRegistry;

  constructor(config: RobianConfig, auth: AuthRegistry, configured: string[]) {
    this.#auth = auth;
    const list = configured.length ? configured.map((v) => parseRendition(v)) : [{ format: config.audioFormat, quality: defaultQuality(config.audioFormat, config.audioBitrate) }, MASTER, { format: 'mp3', quality: '192k' } as Rendition];
    const bad = configured.filter((_, i) => list[i] === undefined);
    if (bad.length) throw new ConfigError([{ variable: 'PUBLIC_RENDITIONS', message: `expected format/quality pairs such as mp3/192k,aac/source, got ${bad.map((b) => `"${b}"`).join(', ')}` }]);
    const unique = new Map((list as Rendition[]).map((r) => [key(r), r]));
    this.renditions = [...unique.values()];
    this.#allowed = new Set(unique.keys());
  }

  /** Throws a 403 unless the caller holds the admin key or asks for a public rendition at a public priority. */
  check(ctx: RobianContext, rendition: Rendition, priority: Priority): void {
    if (this.#allowed.has(key(rendition)) && PUBLIC_PRIORITIES.includes(priority)) return;
    if (this.#auth.isAdmin(ctx)) return;
    const allowed = this.renditions.map(key).join(', ');
    throw new ProblemError(
      403,
      'forbidden',
      'Forbidden',
      `Without the admin key, extraction is limited to the public renditions (${allowed}) at priority ${PUBLIC_PRIORITIES.join(' or ')}; ${key(rendition)} at ${priority} is not one of them.`,
      { allowed_renditions: this.renditions.map(key), allowed_priorities: [...PUBLIC_PRIORITIES] },
    );
  }
}

/** `mp3/192k` → a rendition, or undefined. */
export function parseRendition(value: string): Rendition | undefined {
  const [f, q] = value.trim().toLowerCase().split('/');
  if (!f || !(FORMATS as readonly string[]).includes(f)) return undefined;
  const format = f as AudioFormat;
  const quality = q ? normaliseQuality(format, q) : defaultQuality(format);
  return quality ? { format, quality } : undefined;
}
