import { DebateSchema, type Debate, type EntityManager, type Logger, type RobianOrm, type TaskResult, type TaskRun } from '@robian/core';
import type { PoliteFetcher } from './fetcher.ts';
import { SOURCE_ID } from './importer.ts';
import { parseEdito, parseLiveTxt } from './live-feed.ts';
import type { AssembleeOptions } from './options.ts';
import type { VideoResolver } from './video.ts';

/** A sitting on air, as the live task records it (its state, shared by every instance). */
export interface LiveSitting {
  debate_id: number;
  meeting_id: string;
  flux: string;
  /** The parliament's live HLS of the flux. */
  hls_url: string;
  since: number;
}

export interface LiveDeps {
  orm: () => RobianOrm;
  logger: Logger;
  fetcher: PoliteFetcher;
  resolver: VideoResolver;
  options: AssembleeOptions;
  /** After a debate's status moved: caches and the bus (`debate.updated` with the previous status). */
  changed: (debateId: number, previousStatus: string) => Promise<void>;
  now?: () => number;
}

/** The live HLS of a flux on the video site. */
export function liveHlsUrl(videosBaseUrl: string, flux: string): string {
  return `${videosBaseUrl}live/live${flux}/playlist${flux}.m3u8`;
}

/**
 * Polls `live.txt` (the flux on air) and `getedito.php` (what each flux shows, with the réunion uid
 * in `uid_referentiel`); a flux getedito does not describe is joined through its media's data.nvs
 * `meeting_id`. A debate on air becomes `en_cours`; one that left the air becomes `termine` (or
 * `disponible` when it has audio), with `endTime` the moment it left. Each move is announced (plugin-ws sends debate_started / debate_ended).
 */
export class LiveWatcher {
  readonly #d: LiveDeps;

  constructor(deps: LiveDeps) {
    this.#d = deps;
  }

  #em(): EntityManager {
    return this.#d.orm().em.fork() as unknown as EntityManager;
  }

  async #text(url: string, signal: AbortSignal): Promise<string> {
    const { text } = await this.#d.fetcher.text(url, { timeoutMs: this.#d.options.requestTimeoutMs, maxBytes: 2 * 1024 ** 2, latin1Fallback: true, accept: 'text/plain,application/xml;q=0.9,*/*;q=0.5', signal });
    return text;
  }

  async run(run: TaskRun): Promise<TaskResult> {
    const { options, logger } = this.#d;
    const now = this.#d.now?.() ?? Date.now();
    const before = (run.state.live as Record<string, LiveSitting> | undefined) ?? {};
    const flux = parseLiveTxt(await this.#text(`${options.videosBaseUrl}live/live.txt?rnd=${now}`, run.signal));
    const meetingOf = new Map<string, string>();
    const warnings: string[] = [];
    if (flux.length) {
      try {
        for (const d of parseEdito(await this.#text(`${options.videosBaseUrl}php/getedito.php`, run.signal))) {
          if (d.flux && d.meetingId && !meetingOf.has(d.flux)) meetingOf.set(d.flux, d.meetingId);
        }
      } catch (err) {
        if (run.signal.aborted) throw err;
        warnings.push(`getedito: ${(err as Error).message}`);
      }
      for (const f of flux) {
        if (meetingOf.has(f.flux) || !f.mediaUid || !/^\d+_[0-9a-f]+$/i.test(f.mediaUid)) continue;
        try {
          const nvs = await this.#d.resolver.nvs(f.mediaUid, run.signal);
          if (nvs.meetingId) meetingOf.set(f.flux, nvs.meetingId);
        } catch (err) {
          if (run.signal.aborted) throw err;
          warnings.push(`flux ${f.flux}: ${(err as Error).message}`);
        }
      }
    }
    const meetings = [...new Set(meetingOf.values())];
    const debates = meetings.length ? ((await this.#em().find(DebateSchema, { source: SOURCE_ID, externalId: { $in: meetings } } as never, { disableIdentityMap: true })) as Debate[]) : [];
    const byMeeting = new Map(debates.map((d) => [d.externalId!, d]));
    const live: Record<string, LiveSitting> = {};
    const started: number[] = [];
    const ended: number[] = [];
    const unknown: string[] = [];
    for (const [f, meeting] of meetingOf) {
      const debate = byMeeting.get(meeting);
      if (!debate) {
        unknown.push(meeting);
        continue;
      }
      live[meeting] = { debate_id: debate.id, meeting_id: meeting, flux: f, hls_url: liveHlsUrl(options.videosBaseUrl, f), since: before[meeting]?.since ?? now };
      if (debate.status !== 'en_cours') {
        const n = await this.#em().nativeUpdate(DebateSchema, { id: debate.id, status: debate.status }, { status: 'en_cours', updatedAt: new Date() });
        if (n) {
          started.push(debate.id);
          await this.#d.changed(debate.id, debate.status);
        }
      }
    }
    for (const [meeting, sitting] of Object.entries(before)) {
      if (live[meeting]) continue;
      const debate = (await this.#em().findOne(DebateSchema, { id: sitting.debate_id }, { disableIdentityMap: true })) as Debate | null;
      if (!debate || debate.status !== 'en_cours') continue;
      const next = debate.hasAudio ? 'disponible' : 'termine';
      // the end of the broadcast is the sitting's end (podcast feeds announce it as an ended live item)
      const n = await this.#em().nativeUpdate(DebateSchema, { id: debate.id, status: 'en_cours' }, { status: next, endTime: new Date(now), updatedAt: new Date() });
      if (n) {
        ended.push(debate.id);
        await this.#d.changed(debate.id, 'en_cours');
      }
    }
    if (started.length || ended.length) logger.info({ started, ended }, 'live sittings changed');
    return {
      summary: { flux: flux.length, live: Object.keys(live).length, started, ended, unknown_meetings: unknown, warnings },
      state: { live },
    };
  }
}
