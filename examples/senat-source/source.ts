import { readFile } from 'node:fs/promises';
import { CommissionSchema, DebateSchema, type DebateSource, type EntityManager, type ImportReport, type MediaCandidate, type PluginContext, type ResolvedMedia } from '@robian/core';
import { SenatStreamSchema } from './entities.ts';
import type { SenatOptions } from './options.ts';
import { parseLives, parseNvs } from './records.ts';

export const SENAT_SOURCE = 'senat';

const counts = () => ({ created: 0, updated: 0, unchanged: 0, skipped: 0 });
const slugOf = (name: string) =>
  `senat-${name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 200)}`;

/**
 * The Sénat as a `DebateSource`: its live list is the "open data" it imports (each flux becomes a
 * live debate, its committee a committee of source `senat`), and a media id resolves to the files
 * its data.nvs lists. Only the platform's own host (and port) is ever fetched, and a redirect is
 * refused rather than followed.
 */
export class SenatSource implements DebateSource {
  readonly id = SENAT_SOURCE;
  readonly name = 'Sénat';
  readonly mediaHosts: string[];
  readonly #base: URL;
  readonly #ctx: PluginContext<SenatOptions>;

  constructor(ctx: PluginContext<SenatOptions>) {
    this.#ctx = ctx;
    this.#base = new URL(ctx.options.baseUrl);
    this.mediaHosts = [this.#base.port ? `${this.#base.hostname}:${this.#base.port}` : this.#base.hostname];
  }

  canResolve(url: URL): boolean {
    return url.host === this.#base.host && this.#mediaIdOf(url) !== undefined;
  }

  async resolve(url: URL, options: { signal?: AbortSignal } = {}): Promise<ResolvedMedia> {
    const mediaId = this.#mediaIdOf(url);
    if (!mediaId) throw new Error(`not a Sénat media URL: ${url.pathname}`);
    const nvs = parseNvs(await this.#fetchText(new URL(`Datas/senat/${mediaId}/content/data.nvs`, this.#base), options.signal));
    const candidates: MediaCandidate[] = [];
    for (const file of nvs.files) {
      let media: URL;
      try {
        media = new URL(file.url);
      } catch {
        continue; // serverfiles://… and other internal names are not fetchable
      }
      if (!/^https?:$/.test(media.protocol) || media.host !== this.#base.host) continue;
      const kind = /\.m3u8(\?|$)/.test(media.pathname + media.search) ? 'hls' : /\.mp3$/.test(media.pathname) ? 'mp3' : /\.mp4$/.test(media.pathname) ? 'mp4' : 'other';
      candidates.push({ url: media.toString(), kind, origin: `nvs:${file.title}` });
    }
    const order = { mp3: 0, m4a: 1, mp4: 2, hls: 3, other: 4 } as const;
    candidates.sort((a, b) => order[a.kind] - order[b.kind]);
    return { candidates, ...(nvs.title ? { title: nvs.title } : {}), meetingExternalId: mediaId, pageUrl: url.toString() };
  }

  /** `senat_lives.json` from a file or from the platform: every flux becomes (or updates) a live debate. */
  async import(input: string): Promise<ImportReport> {
    const started = Date.now();
    const body = /^https?:\/\//.test(input) ? await this.#fetchText(new URL(input)) : await readFile(input, 'utf8');
    const { lives, problems } = parseLives(body);
    const report: ImportReport = { source: SENAT_SOURCE, commissions: counts(), deputies: counts(), debates: counts(), problems: problems.map((p) => ({ uid: p.flux, kind: 'live', reason: p.reason })) };
    report.debates.skipped = problems.length;
    const changed: number[] = [];
    const em = this.#ctx.orm.em.fork() as unknown as EntityManager;
    await em.transactional(async (tx) => {
      for (const live of lives) {
        let commission = null;
        if (live.commission) {
          commission = await tx.findOne(CommissionSchema, { source: SENAT_SOURCE, externalId: slugOf(live.commission) } as never);
          if (!commission) {
            commission = tx.create(CommissionSchema, { source: SENAT_SOURCE, externalId: slugOf(live.commission), name: live.commission, slug: slugOf(live.commission), kind: 'commission' } as never);
            report.commissions.created++;
          } else report.commissions.unchanged++;
        }
        const fields = {
          title: live.title,
          type: live.commission ? 'commission' : 'seance_publique',
          status: 'en_cours',
          date: live.startsAt ?? new Date(),
          startTime: live.startsAt,
          videoUrl: live.streamUrl,
          commission,
        };
        let debate = await tx.findOne(DebateSchema, { source: SENAT_SOURCE, externalId: live.mediaId } as never);
        if (!debate) {
          debate = tx.create(DebateSchema, { source: SENAT_SOURCE, externalId: live.mediaId, ...fields } as never);
          report.debates.created++;
        } else if (debate.title !== fields.title || debate.status !== 'en_cours' || debate.videoUrl !== fields.videoUrl) {
          tx.assign(debate, fields as never);
          report.debates.updated++;
        } else report.debates.unchanged++;
        const stream = await tx.findOne(SenatStreamSchema, { flux: live.flux } as never);
        const streamFields = { mediaId: live.mediaId, nid: live.nid, streamUrl: live.streamUrl, debate, lastSeenAt: new Date() };
        if (stream) tx.assign(stream, streamFields as never);
        else tx.create(SenatStreamSchema, { flux: live.flux, ...streamFields } as never);
        await tx.flush();
        changed.push(debate.id);
      }
    });
    report.durationMs = Date.now() - started;
    await this.#ctx.events.emit('import.completed', { source: SENAT_SOURCE, report, changedDebateIds: changed, removedDebateIds: [] });
    return report;
  }

  #mediaIdOf(url: URL): string | undefined {
    return /^\/(?:video\.|Datas\/senat\/)([A-Za-z0-9-]{1,64})(?:[/._]|$)/.exec(url.pathname)?.[1];
  }

  async #fetchText(url: URL, signal?: AbortSignal): Promise<string> {
    if (url.host !== this.#base.host || !/^https?:$/.test(url.protocol)) throw new Error(`${url.host} is not the Sénat platform (${this.#base.host})`);
    const res = await fetch(url, { redirect: 'manual', signal: signal ?? AbortSignal.timeout(this.#ctx.options.timeoutMs) });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`${url.pathname}: HTTP ${res.status}${res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : ''}`);
    }
    return res.text();
  }
}
