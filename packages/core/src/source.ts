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
  /** Where the candidate comes from, for logs and docs (e.g. `nvs:audio`, `og:video`, `config_json`). */
  origin?: string;
  /**
   * False when the source derived the URL by a rule it could not check without fetching the media
   * (the pipeline should fall back to the next candidate when it fails). Default: true.
   */
  verified?: boolean;
}

/** A person who speaks in the recording, as the source names them. */
export interface MediaSpeaker {
  /** The parliament's uid of the person (e.g. an AN acteur uid `PA720468`). */
  externalId: string;
  name: string;
}

export interface ResolvedMedia {
  /**
   * The ways to fetch the media. Sources list them cheapest first (a published audio file before a
   * video file before a stream); the pipeline may still pick per rendition.
   */
  candidates: MediaCandidate[];
  /** The recording's length when the source knows it. */
  durationSeconds?: number;
  chapters?: DebateChapter[];
  /** The parliament's uid of the sitting this media belongs to, when the source knows it. */
  meetingExternalId?: string;
  /** The people who speak in the recording. */
  speakers?: MediaSpeaker[];
  /** The canonical URL of the page that was resolved. */
  pageUrl?: string;
  title?: string;
  description?: string;
  thumbnailUrl?: string;
  /** Captions (e.g. SRT) published with the recording. */
  captionsUrl?: string;
  /** The written record (compte rendu) of the sitting. */
  reportUrl?: string;
  /** When the recording started, when the source says. */
  recordedAt?: Date;
  legislature?: number;
  /** The debate type (wire value) the source infers for the recording. */
  debateType?: 'seance_publique' | 'commission' | 'audition' | 'question_gouvernement' | 'autre';
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
  /** Records not imported (bad, out of scope, cancelled…): each is named in `problems`. */
  skipped: number;
  /** Rows the import removed because the source withdrew them (e.g. a cancelled sitting). */
  removed?: number;
}

export interface ImportProblem {
  uid: string;
  kind: string;
  reason: string;
  /** `skipped`: the record was not imported; `warning`: imported, with something missing. Default `skipped`. */
  severity?: 'skipped' | 'warning';
  /** The file (or zip entry) it came from. */
  file?: string;
}

export interface ImportReport {
  commissions: ImportCounts;
  deputies: ImportCounts;
  debates: ImportCounts;
  /** Records skipped, each with its uid and why (and warnings about records imported incompletely). */
  problems: ImportProblem[];
  /** The source id, e.g. `assemblee-nationale`. */
  source?: string;
  durationMs?: number;
}

export interface ImportProgress {
  (event: { phase: string; done: number; total?: number }): void;
}

export interface ImportOptions {
  signal?: AbortSignal;
  progress?: ImportProgress;
}

/**
 * The payload of `import.completed`, which a source plugin emits after an import wrote to the
 * database (`'import.completed'` on the core bus).
 * Listeners drop what these debates made stale (caches); the search index follows by database triggers.
 */
export interface ImportCompletedEvent {
  source: string;
  report: ImportReport;
  /** Debates created or updated by the import. */
  changedDebateIds: number[];
  /** Debates the import deleted. */
  removedDebateIds: number[];
  /** Set when the import stopped on an error: the report covers what was committed before it. */
  failed?: string;
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
  /** Hosts this source fetches pages and media from, lower case: `name` (ports 80 and 443), `name:port`, `name:*` (any port). */
  mediaHosts: string[];
  /** True when this source knows how to resolve the URL (a page of its video site, say). */
  canResolve(url: URL): boolean;
  /** The media behind a page URL. Must only fetch hosts in `mediaHosts`. */
  resolve(url: URL, options?: { signal?: AbortSignal }): Promise<ResolvedMedia>;
  /** Imports the source's open data from a path or URL (optional). */
  import?(input: string, options?: ImportOptions): Promise<ImportReport>;
  /**
   * The parliament's live stream (an HLS URL on `mediaHosts`) of a debate on air, or undefined
   * (optional). plugin-audio relays it as audio-only HLS (`GET /api/debats/{id}/live`).
   */
  liveStream?(debate: { id: number; externalId: string | null; status: string }): Promise<string | undefined>;
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
