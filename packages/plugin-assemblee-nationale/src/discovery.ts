import { DebateSchema, type Debate, type EntityManager, type Logger, type RobianOrm, type TaskResult, type TaskRun } from '@robian/core';
import { FetchError, isThrottled, type PoliteFetcher } from './fetcher.ts';
import { SOURCE_ID } from './importer.ts';
import type { LinkVideoResult } from './link.ts';
import { catchUpDays, listingUrl, parisDay, parseListing, type ListedVideo } from './listing.ts';
import type { AssembleeOptions } from './options.ts';
import type { SittingEnricher } from './enrich.ts';
import type { VideoResolver } from './video.ts';

export interface DiscoveryDeps {
  orm: () => RobianOrm;
  logger: Logger;
  fetcher: PoliteFetcher;
  resolver: VideoResolver;
  options: AssembleeOptions;
  enricher: SittingEnricher;
  /** The plugin's link (cache invalidation and bus events included). */
  link: (url: string, options: { signal?: AbortSignal; meetingId?: string }) => Promise<LinkVideoResult>;
  now?: () => number;
}

interface DiscoveryState {
  /** Day listings read (DD/MM/YYYY → epoch ms of the last read). */
  days?: Record<string, number>;
  /** Videos that could not be linked: retried after an hour, at most 24 times. */
  failed?: Record<string, { attempts: number; at: number; error: string }>;
  /** Debates linked by a run that was throttled before their enrichment: enriched first at the next run. */
  deferred?: number[];
}

const TOKEN = /[\p{L}\p{N}]{3,}/gu;
const STOP = new Set(['des', 'les', 'une', 'pour', 'sur', 'aux', 'dans', 'par', 'avec', 'suite', 'et']);
const tokens = (s: string) => new Set(((s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().match(TOKEN) ?? []) as string[]).filter((t) => !STOP.has(t)));

/** Jaccard similarity of the words (3+ letters, accents and common French words ignored) of two titles. */
export function titleSimilarity(a: string, b: string): number {
  const x = tokens(a);
  const y = tokens(b);
  if (!x.size || !y.size) return 0;
  let common = 0;
  for (const t of x) if (y.has(t)) common++;
  return common / (x.size + y.size - common);
}

const DEBATE_TYPE_OF: Record<string, string[]> = { S: ['seance_publique', 'question_gouvernement'], C: ['commission', 'audition'] };

/**
 * Finds new videos on the platform's listing (the latest publications, and day by day over the
 * catch-up window) and links each to its réunion by the data.nvs `meeting_id`; a video naming none
 * is matched on day, type and title (a fallback, reported). Idempotent: a video whose page is a
 * debate's source already is not fetched again.
 */
export class VideoDiscovery {
  readonly #d: DiscoveryDeps;

  constructor(deps: DiscoveryDeps) {
    this.#d = deps;
  }

  #em(): EntityManager {
    return this.#d.orm().em.fork() as unknown as EntityManager;
  }

  /** The listings of this run: the latest publications, today every hour, the other days of the window once a day. */
  #listings(state: DiscoveryState, now: number): { url: string; day?: string }[] {
    const out: { url: string; day?: string }[] = [{ url: listingUrl(this.#d.options.videosBaseUrl) }];
    const today = parisDay(now);
    for (const day of catchUpDays(now, this.#d.options.catchUpDays)) {
      const last = state.days?.[day] ?? 0;
      if (now - last >= (day === today ? 3_600_000 : 86_400_000)) out.push({ url: listingUrl(this.#d.options.videosBaseUrl, day), day });
    }
    return out;
  }

  /** Interface uids among `uids` that a debate's source_url already names. */
  async known(uids: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < uids.length; i += 100) {
      const chunk = uids.slice(i, i + 100);
      const rows = await this.#em().find(DebateSchema, { $or: chunk.map((u) => ({ sourceUrl: { $like: `%/video.${u}%` } })) } as never, { fields: ['sourceUrl'] as never, disableIdentityMap: true });
      for (const r of rows) {
        const uid = /\/video\.(\d+_[0-9a-f]+)/i.exec(r.sourceUrl ?? '')?.[1];
        if (uid) out.add(uid.toLowerCase());
      }
    }
    return out;
  }

  /** The réunion of a video whose data.nvs names none: same Paris day, same kind, closest title (≥ 0.35). */
  async fuzzyMeeting(video: { title: string | null; date: number | null; videoType: string | null }): Promise<{ meetingId: string; score: number; debateId: number } | undefined> {
    if (!video.date || !video.title) return undefined;
    const dayStart = video.date - 14 * 3_600_000;
    const dayEnd = video.date + 14 * 3_600_000;
    const rows = (await this.#em().find(DebateSchema, { source: SOURCE_ID, date: { $gte: new Date(dayStart), $lte: new Date(dayEnd) }, sourceUrl: null } as never, { disableIdentityMap: true })) as Debate[];
    const day = parisDay(video.date);
    const types = DEBATE_TYPE_OF[video.videoType ?? ''];
    let best: { meetingId: string; score: number; debateId: number } | undefined;
    for (const d of rows) {
      if (!d.externalId || parisDay(new Date(d.date).getTime()) !== day) continue;
      if (types && !types.includes(d.type)) continue;
      const score = titleSimilarity(video.title, d.title);
      if (score >= 0.35 && (!best || score > best.score)) best = { meetingId: d.externalId, score: Math.round(score * 100) / 100, debateId: d.id };
    }
    return best;
  }

  async run(run: TaskRun): Promise<TaskResult> {
    const { fetcher, options, logger } = this.#d;
    const now = this.#d.now?.() ?? Date.now();
    const state = run.state as DiscoveryState;
    const days = { ...(state.days ?? {}) };
    const failed = { ...(state.failed ?? {}) };
    const listed = new Map<string, ListedVideo>();
    const listingErrors: string[] = [];
    const attemptsBefore = fetcher.attempts;
    // the platform throttling us (429/503 after the retries) stops the run; the rest is for the next one
    let throttled: string | undefined;
    for (const listing of this.#listings(state, now)) {
      try {
        const { text } = await fetcher.text(listing.url, { timeoutMs: options.requestTimeoutMs, maxBytes: 20 * 1024 ** 2, accept: 'application/json,*/*;q=0.5', latin1Fallback: true, signal: run.signal });
        for (const v of parseListing(text)) if (!listed.has(v.interfaceUid.toLowerCase())) listed.set(v.interfaceUid.toLowerCase(), v);
        if (listing.day) days[listing.day] = now;
      } catch (err) {
        if (run.signal.aborted) throw err;
        listingErrors.push(`${listing.url}: ${(err as Error).message}`);
        if (isThrottled(err)) {
          throttled = err.message;
          break;
        }
      }
    }
    // the days that left the window are forgotten
    const window = new Set(catchUpDays(now, options.catchUpDays));
    for (const d of Object.keys(days)) if (!window.has(d)) delete days[d];
    const known = await this.known([...listed.keys()]);
    const fresh = [...listed.values()].filter((v) => {
      if (known.has(v.interfaceUid.toLowerCase())) return false;
      const f = failed[v.interfaceUid];
      return !f || (f.attempts < 24 && now - f.at >= 3_600_000);
    });
    // oldest first: a sitting's earlier video gets the lower id
    fresh.sort((a, b) => (a.date ?? 0) - (b.date ?? 0));
    const linked: { interface_uid: string; debate_id: number; meeting_id: string; created: boolean; chapters_timed: number }[] = [];
    const fuzzy: { interface_uid: string; meeting_id: string; score: number; debate_id: number }[] = [];
    const errors: { interface_uid: string; error: string }[] = [];
    const disagreements: unknown[] = [];
    // the debates a throttled run linked but could not enrich: first, as newly linked (their audio follows)
    const deferred = new Set(state.deferred ?? []);
    const resumed: number[] = [];
    for (const id of throttled ? [] : [...deferred]) {
      run.signal.throwIfAborted();
      try {
        const enriched = await this.#d.enricher.enrich(id, { signal: run.signal, newlyLinked: true });
        disagreements.push(...enriched.disagreements.map((x) => ({ debate_id: id, ...x })));
        resumed.push(id);
        deferred.delete(id);
      } catch (err) {
        if (run.signal.aborted) throw err;
        if (isThrottled(err)) {
          throttled = err.message;
          break;
        }
        deferred.delete(id); // not the platform's throttling: the transcripts task retries it
        errors.push({ interface_uid: `debate:${id}`, error: (err as Error).message });
      }
    }
    let attempted = 0;
    let throttledUnlinked = false;
    for (const video of throttled ? [] : fresh.slice(0, options.maxVideosPerRun)) {
      run.signal.throwIfAborted();
      const pageUrl = `${options.videosBaseUrl}video.${video.interfaceUid}`;
      let result: LinkVideoResult | undefined;
      attempted++;
      try {
        const media = await this.#d.resolver.resolve(new URL(pageUrl), { signal: run.signal });
        let meetingId: string | undefined;
        if (!media.meetingExternalId) {
          const match = await this.fuzzyMeeting({ title: media.title ?? video.title, date: media.recordedAt?.getTime() ?? video.date, videoType: video.videoType });
          if (!match) throw new Error('its data.nvs names no réunion (meeting_id) and no réunion of that day matches its title');
          meetingId = match.meetingId;
          fuzzy.push({ interface_uid: video.interfaceUid, meeting_id: match.meetingId, score: match.score, debate_id: match.debateId });
          logger.warn({ video: video.interfaceUid, meeting: match.meetingId, score: match.score }, 'video linked by title (its data.nvs names no réunion)');
        }
        const link = await this.#d.link(pageUrl, { signal: run.signal, ...(meetingId ? { meetingId } : {}) });
        result = link;
        delete failed[video.interfaceUid];
        const enriched = await this.#d.enricher.enrich(link.debate_id, { signal: run.signal, newlyLinked: true });
        disagreements.push(...enriched.disagreements.map((x) => ({ debate_id: link.debate_id, ...x })));
        linked.push({ interface_uid: video.interfaceUid, debate_id: link.debate_id, meeting_id: link.meeting_id, created: link.created, chapters_timed: enriched.chaptersTimed });
      } catch (err) {
        if (run.signal.aborted) throw err;
        if (isThrottled(err)) {
          // not a failure of the video: neither counted nor delayed; a linked one is enriched at the next run
          throttled = err.message;
          if (result) deferred.add(result.debate_id);
          else throttledUnlinked = true;
          break;
        }
        const message = err instanceof FetchError || err instanceof Error ? err.message : String(err);
        failed[video.interfaceUid] = { attempts: (failed[video.interfaceUid]?.attempts ?? 0) + 1, at: now, error: message.slice(0, 500) };
        errors.push({ interface_uid: video.interfaceUid, error: message });
      }
    }
    // bounded: the oldest failures are forgotten first
    const failures = Object.entries(failed).sort((a, b) => b[1].at - a[1].at).slice(0, 1000);
    // listed, new, and neither linked nor failed by this run: the next run's
    const left = fresh.length - attempted + (throttledUnlinked ? 1 : 0);
    return {
      ...(throttled ? { error: `throttled by the platform, ${left} videos and ${deferred.size} enrichments left for the next run: ${throttled}` } : {}),
      summary: {
        listed: listed.size,
        new: fresh.length,
        linked: linked.length,
        resumed,
        deferred: [...deferred],
        ...(throttled ? { throttled } : {}),
        links: linked.slice(0, 50),
        fuzzy,
        failed: errors.length,
        errors: errors.slice(0, 20),
        listing_errors: listingErrors,
        chapter_disagreements: disagreements.slice(0, 50),
        requests: fetcher.attempts - attemptsBefore,
        pending: left,
      },
      state: { days, failed: Object.fromEntries(failures), deferred: [...deferred].slice(-1000) },
    };
  }
}
