import type { DebateChapter } from './entities.ts';
import type { Disposer } from './events.ts';

/** One way to fetch a debate's media, as a source plugin offers it. */
export interface MediaCandidate {
  url: string;
  /** Container/protocol: a published MP3, an MP4 file, an HLS master, or something FFmpeg must probe. */
  kind: 'mp3' | 'mp4' | 'm4a' | 'hls' | 'other';
  /** Audio codec when the source knows it (`aac`, `mp3`): lets the pipeline copy instead of re-encode. */
  audioCodec?: string;
  /** Audio bitrate in kbit/s when known. */
  audioBitrate?: number;
}

export interface ResolvedMedia {
  /** Cheapest first is not required: the pipeline picks per rendition. */
  candidates: MediaCandidate[];
  /** The recording's length when the source knows it. */
  durationSeconds?: number;
  chapters?: DebateChapter[];
  /** The parliament's uid of the sitting this media belongs to, when the source knows it. */
  meetingExternalId?: string;
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

export interface ImportReport {
  commissions: ImportCounts;
  deputies: ImportCounts;
  debates: ImportCounts;
  /** Records skipped, each with its uid and why. */
  problems: { uid: string; kind: string; reason: string }[];
}

export interface ImportProgress {
  (event: { phase: string; done: number; total?: number }): void;
}

/**
 * What a parliament plugin implements: where its media lives, how to import its catalogue, and
 * how to turn a debate's page into media URLs. The hosts declared here feed the SSRF allow-list:
 * nothing else is fetched.
 */
export interface DebateSource {
  /** Stable id, also the `source` column of what it imports, e.g. `assemblee-nationale`. */
  id: string;
  /** Human name, e.g. "Assemblée nationale". */
  name: string;
  /** Host names this source fetches pages and media from (exact names, lower case). */
  mediaHosts: string[];
  /** True when this source knows how to resolve the URL (a page of its video site, say). */
  canResolve(url: URL): boolean;
  /** The media behind a page URL. Must only fetch hosts in `mediaHosts`. */
  resolve(url: URL, options?: { signal?: AbortSignal }): Promise<ResolvedMedia>;
  /** Imports the source's open data from a path or URL (optional). */
  import?(input: string, options?: { signal?: AbortSignal; progress?: ImportProgress }): Promise<ImportReport>;
}

/** The registered sources, and the allow-list of hosts built from them. */
export class SourceRegistry {
  readonly #sources = new Map<string, { owner: string; source: DebateSource }>();

  register(source: DebateSource, owner: string): Disposer {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(source.id)) throw new Error(`source id "${source.id}" must be lower-case letters, digits and dashes`);
    const existing = this.#sources.get(source.id);
    if (existing) throw new Error(`source "${source.id}" is already registered by plugin "${existing.owner}"`);
    const entry = { owner, source };
    this.#sources.set(source.id, entry);
    return () => {
      if (this.#sources.get(source.id) === entry) this.#sources.delete(source.id);
    };
  }

  get(id: string): DebateSource | undefined {
    return this.#sources.get(id)?.source;
  }

  list(): DebateSource[] {
    return [...this.#sources.values()].map((e) => e.source);
  }

  /** The first source that can resolve this URL. */
  forUrl(url: URL): DebateSource | undefined {
    return this.list().find((s) => s.canResolve(url));
  }

  /** Every host the registered sources declare. */
  mediaHosts(): string[] {
    return [...new Set(this.list().flatMap((s) => s.mediaHosts.map((h) => h.toLowerCase())))];
  }
}
