import { DebateSchema, type Debate, type DebateChapter, type EntityManager, type Logger, type RobianOrm } from '@robian/core';
import { parseSrt, type Cue } from './captions.ts';
import { FetchError, isThrottled, type PoliteFetcher } from './fetcher.ts';
import type { AssembleeOptions } from './options.ts';
import { parseReport, reportUidOf, type ParsedReport, type Speech } from './report.ts';
import { parsePlayer, timeChapters, type ChapterTiming, type PlayerTimeline } from './synchro.ts';
import { rebase, type VideoResolver } from './video.ts';

/** One transcript segment as this plugin hands it to core (seconds into the recording). */
export interface SegmentInput {
  start_seconds: number;
  end_seconds: number;
  text: string;
  speaker_name?: string | null;
  deputy_external_id?: string | null;
}

/** Where transcripts go (core's transcript storage, wired in index.ts). */
export interface TranscriptWriter {
  /** The sources the debate has a transcript of. */
  sources(debateId: number): Promise<Set<string>>;
  /** Replaces the debate's transcript of `source`; false when it was identical (nothing written). */
  replace(debateId: number, source: string, segments: SegmentInput[]): Promise<boolean>;
}

/** Queues the audio of a newly linked debate (plugin-audio's service); what it did, or why not. */
export type ExtractQueue = (debateId: number) => Promise<string>;

export interface EnricherDeps {
  orm: () => RobianOrm;
  logger: Logger;
  fetcher: PoliteFetcher;
  resolver: VideoResolver;
  options: AssembleeOptions;
  transcripts: () => TranscriptWriter | undefined;
  extract: () => ExtractQueue | undefined;
  /** After the debate's chapters changed: caches and the bus. */
  changed: (debateId: number, previousStatus?: string) => Promise<void>;
}

export interface Enrichment {
  debateId: number;
  chaptersTimed: number;
  timing: ChapterTiming['source'];
  disagreements: ChapterTiming['disagreements'];
  /** Segments per transcript source written (or already there). */
  transcripts: Record<string, number>;
  /** True when nothing is left to wait for (timed chapters and a transcript). */
  complete: boolean;
  changed: boolean;
  extraction?: string;
  warnings: string[];
}

/** A speech lasts until the next one starts; the last one the median length, at most 120 s. */
export function speechSegments(speeches: Speech[]): SegmentInput[] {
  const timed = speeches.filter((s) => s.stime !== null).sort((a, b) => a.stime! - b.stime!);
  const lengths = timed.slice(1).map((s, i) => s.stime! - timed[i]!.stime!).filter((d) => d > 0).sort((a, b) => a - b);
  const median = lengths.length ? lengths[Math.floor(lengths.length / 2)]! : 60;
  return timed.map((s, i) => {
    const next = timed.slice(i + 1).find((n) => n.stime! > s.stime!);
    const end = next ? next.stime! : s.stime! + Math.min(median, 120);
    return { start_seconds: s.stime!, end_seconds: end, text: s.text, speaker_name: s.speakerName, deputy_external_id: s.speakerExternalId };
  });
}

export function captionSegments(cues: Cue[]): SegmentInput[] {
  return [...cues].sort((a, b) => a.start - b.start).map((c) => ({ start_seconds: c.start, end_seconds: c.end, text: c.text }));
}

const sameChapters = (a: DebateChapter[] | null | undefined, b: DebateChapter[]) => JSON.stringify(a ?? []) === JSON.stringify(b);

/**
 * Completes a linked sitting from what the platform publishes after the video: the player
 * timeline (chapter times), the compte rendu (fallback times, cross-check, speeches), the captions;
 * stores the transcripts through core and, for a newly linked video, queues its audio.
 */
export class SittingEnricher {
  readonly #d: EnricherDeps;

  constructor(deps: EnricherDeps) {
    this.#d = deps;
  }

  #em(): EntityManager {
    return this.#d.orm().em.fork() as unknown as EntityManager;
  }

  /** A text from the parliament's hosts, or null when it is not published (404/410). */
  async #optional(url: string, signal: AbortSignal | undefined, latin1 = false): Promise<string | null> {
    try {
      const { text } = await this.#d.fetcher.text(url, { timeoutMs: this.#d.options.requestTimeoutMs, maxBytes: 50 * 1024 ** 2, latin1Fallback: latin1, ...(signal ? { signal } : {}) });
      return text;
    } catch (err) {
      if (err instanceof FetchError && (err.httpStatus === 404 || err.httpStatus === 410)) return null;
      throw err;
    }
  }

  async timeline(uid: string, signal?: AbortSignal): Promise<PlayerTimeline | null> {
    const base = `${this.#d.options.videosBaseUrl}Datas/an/${uid}/content/`;
    for (const name of ['finalplayer.nvs', 'liveplayer.nvs']) {
      const text = await this.#optional(base + name, signal, true);
      if (text) {
        const t = parsePlayer(text);
        if (t.synchros.size) return t;
      }
    }
    return null;
  }

  async report(reportUrl: string | null, signal?: AbortSignal): Promise<ParsedReport | null> {
    const uid = reportUidOf(reportUrl);
    if (!uid) return null;
    const text = await this.#optional(`${this.#d.options.siteBaseUrl}dyn/opendata/${uid}.xml`, signal, true);
    return text ? parseReport(text) : null;
  }

  async enrich(debateId: number, o: { signal?: AbortSignal; newlyLinked?: boolean } = {}): Promise<Enrichment> {
    const { resolver, options } = this.#d;
    const warnings: string[] = [];
    const debate = (await this.#em().findOne(DebateSchema, { id: debateId }, { disableIdentityMap: true })) as Debate | null;
    const uid = /\/video\.(\d+_[0-9a-f]+)/i.exec(debate?.sourceUrl ?? '')?.[1];
    if (!debate || !uid) throw new Error(`debate ${debateId} is not linked to a video`);
    const page = await resolver.page(new URL(debate.sourceUrl!), o.signal);
    const nvs = await resolver.nvs(uid, o.signal);
    // a part that is not published, or fails for good, is a warning; throttling is not: the whole
    // enrichment stops before writing anything, and is done again at a later run
    const soft = async <T>(what: string, fn: () => Promise<T>): Promise<T | null> => {
      try {
        return await fn();
      } catch (err) {
        if (o.signal?.aborted || isThrottled(err)) throw err;
        warnings.push(`${what}: ${(err as Error).message}`);
        return null;
      }
    };
    // everything is read first…
    const timeline = await soft('player timeline', () => this.timeline(uid, o.signal));
    const report = await soft('compte rendu', () => this.report(nvs.reportUrl ?? page.reportUrl, o.signal));
    const writer = this.#d.transcripts();
    const srt = writer && page.captionsUrl ? await soft('captions', () => this.#optional(rebase(page.captionsUrl!, options), o.signal, true)) : null;
    // …then written
    const timing = timeChapters(nvs.chapters, nvs.chapterIds, timeline, report?.speeches ?? null, options.chapterToleranceSeconds);
    let changed = false;
    if (timing.timed > 0 && !sameChapters(debate.chapters, timing.chapters)) {
      await this.#em().nativeUpdate(DebateSchema, { id: debateId }, { chapters: timing.chapters, updatedAt: new Date() });
      changed = true;
    }
    const transcripts: Record<string, number> = {};
    if (writer) {
      const segments: [string, SegmentInput[]][] = [];
      if (srt) segments.push(['captions', captionSegments(parseSrt(srt))]);
      if (report?.synchronised) segments.push(['compte_rendu', speechSegments(report.speeches)]);
      for (const [source, list] of segments) {
        if (!list.length) continue;
        if (await writer.replace(debateId, source, list)) changed = true;
        transcripts[source] = list.length;
      }
      for (const s of await writer.sources(debateId)) transcripts[s] ??= -1;
    }
    if (changed) await this.#d.changed(debateId);
    let extraction: string | undefined;
    if (o.newlyLinked) {
      const queue = this.#d.extract();
      extraction = queue ? await soft('audio', () => queue(debateId)) ?? 'failed' : 'no audio plugin';
    }
    const complete = timing.source === 'synchro' && Object.keys(transcripts).length > 0;
    return { debateId, chaptersTimed: timing.timed, timing: timing.source, disagreements: timing.disagreements, transcripts, complete, changed, ...(extraction ? { extraction } : {}), warnings };
  }

  /**
   * The linked sittings of the last `days` days that still miss chapter times or a transcript:
   * each is enriched again (the AN publishes the compte rendu and the captions after the sitting).
   */
  async retry(o: { signal: AbortSignal; days: number; now?: number }): Promise<{ checked: number; completed: number; changed: number; failed: { debate_id: number; error: string }[]; throttled?: string }> {
    const since = new Date((o.now ?? Date.now()) - o.days * 86_400_000);
    const rows = (await this.#em().find(DebateSchema, { source: 'assemblee-nationale', sourceUrl: { $ne: null }, date: { $gte: since } } as never, { orderBy: { date: 'desc' }, limit: 500, disableIdentityMap: true })) as Debate[];
    const writer = this.#d.transcripts();
    let checked = 0;
    let completed = 0;
    let changed = 0;
    const failed: { debate_id: number; error: string }[] = [];
    for (const d of rows) {
      o.signal.throwIfAborted();
      const timed = (d.chapters ?? []).some((c) => c.start_seconds !== null);
      const has = writer ? (await writer.sources(d.id)).size > 0 : true;
      if (timed && has) continue;
      checked++;
      try {
        const e = await this.enrich(d.id, { signal: o.signal });
        if (e.complete) completed++;
        if (e.changed) changed++;
      } catch (err) {
        if (o.signal.aborted) throw err;
        // throttled: the others wait for the next run
        if (isThrottled(err)) return { checked, completed, changed, failed: failed.slice(0, 20), throttled: err.message };
        failed.push({ debate_id: d.id, error: (err as Error).message });
      }
    }
    return { checked, completed, changed, failed: failed.slice(0, 20) };
  }
}
