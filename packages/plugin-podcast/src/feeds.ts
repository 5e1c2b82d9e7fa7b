import { createHash } from 'node:crypto';
import { CommissionSchema, DeputySchema, NotFoundError, ValidationError, debateFilter, resolveNamed, z, type EntityManager, type PluginContext, type RobianContext } from '@robian/core';
import { defaultArtwork } from './artwork.ts';
import { MAX_SELECTED_DEBATES, loadItems, type FeedItem, type Rendition } from './items.ts';
import { loadLiveSittings } from './live.ts';
import type { PodcastOptions } from './options.ts';
import { renderFeed, renderOpml, type Channel, type LiveEntry } from './rss.ts';
import type { FeedKeys } from './keys.ts';

const RSS = 'application/rss+xml; charset=utf-8';
const FORMATS = ['mp3', 'aac', 'opus', 'wav'] as const;
const name = z.string().trim().min(1).max(255);

export const feedQuery = z.object({
  format: z.enum(FORMATS).optional().meta({ description: 'The rendition of the enclosures (default: the server default rendition)' }),
  quality: z.string().regex(/^[0-9a-z]{1,16}$/).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1).meta({ description: 'RFC 5005 paged feed: page 1 is the newest' }),
  type: z.enum(['seance_publique', 'commission', 'audition', 'question_gouvernement', 'autre']).optional(),
  commission: name.optional(),
  depute: name.optional(),
  date_start: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
  date_end: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
});
type FeedQuery = z.output<typeof feedQuery>;

interface Rendered {
  body: string;
  etag: string;
  lastModified: string;
}

/** The quality a rendition gets when only its format is named (plugin-audio's defaults). */
function defaultQuality(format: string, bitrate: string): string {
  return format === 'mp3' ? bitrate : format === 'aac' ? 'source' : format === 'opus' ? '32k' : 'pcm';
}

/**
 * The podcast feeds: every committee, deputy, saved search and collection as an RSS feed whose
 * items are the debates with audio ready, with Podcasting 2.0 chapters, transcripts and people.
 * Rendered feeds are cached (invalidated by the catalogue's, the audio's and the transcripts' events)
 * and answered with a strong ETag and Last-Modified.
 */
export class Feeds {
  readonly #ctx: PluginContext<PodcastOptions>;
  readonly #keys: FeedKeys;
  readonly #artwork = defaultArtwork();

  constructor(ctx: PluginContext<PodcastOptions>, keys: FeedKeys) {
    this.#ctx = ctx;
    this.#keys = keys;
  }

  get #cache() {
    return this.#ctx.cache.namespace('feeds', this.#ctx.options.cacheSeconds);
  }

  #em(): EntityManager {
    return this.#ctx.orm.em.fork() as unknown as EntityManager;
  }

  register(): void {
    const { ctx } = this;
    const invalidate = () => void this.#cache.invalidate();
    for (const event of ['debate.created', 'debate.updated', 'debate.deleted', 'extraction.completed', 'import.completed', 'transcript.updated'] as const) ctx.events.on(event, invalidate);
    const r = ctx.router;
    const feed = (path: string, operationId: string, summary: string, params: z.ZodObject | undefined, build: (koa: RobianContext, q: FeedQuery, p: Record<string, string>) => Promise<Rendered>) =>
      r.route({
        method: 'get',
        path,
        operationId,
        summary,
        tags: ['podcast'],
        ...(params ? { params } : {}),
        query: feedQuery,
        responses: { 200: { description: 'An RSS 2.0 podcast feed', contentType: RSS }, 304: { description: 'Not modified' }, 404: { description: 'No such committee, deputy or collection' } },
        handler: async (koa, { query, params: p }) => this.#send(koa, await build(koa, query, (p ?? {}) as Record<string, string>)),
      });

    feed('/feeds/debats.xml', 'feedDebates', 'Every debate with audio, newest first (the list filters apply)', undefined, (koa, q) =>
      this.#render(koa, q, `debats:${JSON.stringify(q)}`, { title: 'Débats du Parlement', description: 'Les séances et réunions, à écouter.', link: '/api/debats/' }, { where: debateFilter(q as never) }),
    );
    feed('/feeds/commissions/{name}.xml', 'feedCommission', "A committee's debates with audio", z.object({ name }), async (koa, q, p) => {
      const id = await resolveNamed(this.#em() as never, 'commission', p.name!); // as /api/commissions/{name}/debats
      const c = id === undefined ? null : ((await this.#em().findOne(CommissionSchema, { id } as never)) as { id: number; name: string; slug: string } | null);
      if (!c) throw new NotFoundError(`committee ${p.name} does not exist`);
      return this.#render(koa, q, `c:${c.id}:${JSON.stringify(q)}`, { title: c.name, description: `Les réunions de : ${c.name}.`, link: `/api/commissions/${encodeURIComponent(c.slug)}/debats` }, { where: { ...(debateFilter(q as never) as object), commission: c.id } as never });
    });
    feed('/feeds/deputes/{name}.xml', 'feedDeputy', 'The debates where a deputy spoke, with audio', z.object({ name }), async (koa, q, p) => {
      const id = await resolveNamed(this.#em() as never, 'deputy', p.name!); // as /api/deputes/{name}/debats
      const d = id === undefined ? null : ((await this.#em().findOne(DeputySchema, { id } as never)) as { id: number; fullName: string; slug: string } | null);
      if (!d) throw new NotFoundError(`deputy ${p.name} does not exist`);
      return this.#render(koa, q, `d:${d.id}:${JSON.stringify(q)}`, { title: d.fullName, description: `Les interventions de ${d.fullName}.`, link: `/api/deputes/${encodeURIComponent(d.slug)}/debats` }, { where: { $and: [debateFilter(q as never), { speakers: { $some: d.id } }] } as never });
    });
    r.route({
      method: 'get',
      path: '/feeds/search.xml',
      operationId: 'feedSearch',
      summary: 'A saved search as a podcast: the debates the words match, best first',
      tags: ['podcast'],
      query: feedQuery.extend({ q: z.string().trim().min(1).max(200) }),
      responses: { 200: { description: 'An RSS 2.0 podcast feed', contentType: RSS }, 304: { description: 'Not modified' }, 503: { description: 'No search plugin' } },
      handler: async (koa, { query }) => {
        const search = ctx.services.maybe('search.debates');
        if (!search) throw new NotFoundError('search is not available on this server');
        const ids = await search(query.q, { limit: MAX_SELECTED_DEBATES, hasAudio: true });
        return this.#send(koa, await this.#render(koa, query, `s:${JSON.stringify(query)}`, { title: `Recherche : ${query.q}`, description: `Les débats où l’on parle de « ${query.q} ».`, link: `/api/search?q=${encodeURIComponent(query.q)}` }, { ids }));
      },
    });
    r.route({
      method: 'get',
      path: '/feeds/collections/{id}.xml',
      operationId: 'feedCollection',
      summary: "A listener's collection as a podcast: public ones for anyone, private ones with their feed token",
      tags: ['podcast'],
      params: z.object({ id: z.coerce.number().int().min(1).max(2 ** 31 - 1) }),
      query: feedQuery.extend({ token: z.string().regex(/^[A-Za-z0-9_-]{20,100}$/).optional() }),
      responses: { 200: { description: 'An RSS 2.0 podcast feed', contentType: RSS }, 304: { description: 'Not modified' }, 404: { description: 'No such collection, or a private one without its valid token' } },
      handler: async (koa, { params, query }) => {
        const lookup = ctx.services.maybe('listeners.collection');
        const c = lookup ? await lookup(params.id) : undefined;
        if (!c || (!c.isPublic && !(query.token && (await this.#keys.check(c.id, query.token))))) throw new NotFoundError(`collection ${params.id} does not exist`);
        const { token: _t, ...q } = query;
        return this.#send(koa, await this.#render(koa, q, `l:${c.id}:${JSON.stringify(query)}`, { title: c.name, description: c.description ?? `La collection « ${c.name} ».`, link: `/api/collections/${c.id}` }, { ids: c.debateIds }, query.token));
      },
    });
    r.route({
      method: 'get',
      path: '/feeds/commissions.opml',
      operationId: 'feedsOpml',
      summary: "Every committee's feed, as OPML (import it into a podcast app)",
      tags: ['podcast'],
      responses: { 200: { description: 'OPML 2.0', contentType: 'text/x-opml; charset=utf-8' } },
      handler: async (koa) => {
        const base = this.#base(koa);
        const rows = (await this.#em().find(CommissionSchema, { active: true } as never, { orderBy: { name: 'asc' } as never })) as { name: string; slug: string }[];
        koa.type = 'text/x-opml; charset=utf-8';
        koa.body = renderOpml('Commissions', rows.map((c) => ({ title: c.name, xmlUrl: `${base}/feeds/commissions/${encodeURIComponent(c.slug)}.xml`, htmlUrl: `${base}/api/commissions/${encodeURIComponent(c.slug)}/debats` })));
        return undefined;
      },
    });
    r.raw.get('/feeds/artwork.png', (koa) => {
      koa.type = 'image/png';
      koa.set('Cache-Control', 'public, max-age=86400');
      koa.body = this.#artwork;
    });
  }

  get ctx() {
    return this.#ctx;
  }

  /** The public origin: PUBLIC_URL when set, else the request's (behind trusted proxies, their X-Forwarded-*). */
  #base(koa: RobianContext): string {
    if (this.#ctx.options.publicUrl) return this.#ctx.options.publicUrl.replace(/\/+$/, '');
    const host = koa.get('host');
    // the Host header becomes part of every URL of the feed (and of its cache key): only a plain host[:port]
    if (!/^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?$/.test(host)) throw new ValidationError([{ in: 'header', field: 'host', message: 'expected a host name, or set PODCAST_PUBLIC_URL' }]);
    return `${koa.protocol === 'https' ? 'https' : 'http'}://${host}`;
  }

  #rendition(q: FeedQuery): Rendition {
    const format = q.format ?? this.#ctx.config.audioFormat;
    return { format, quality: q.quality ?? defaultQuality(format, this.#ctx.config.audioBitrate) };
  }

  async #render(koa: RobianContext, q: FeedQuery, key: string, meta: { title: string; description: string; link: string }, selection: Parameters<typeof loadItems>[2], token?: string): Promise<Rendered> {
    const base = this.#base(koa);
    return this.#cache.wrap(`${base}|${key}`, async () => {
      const { pageSize, enclosureTtlDays } = this.#ctx.options;
      const rendition = this.#rendition(q);
      const em = this.#em();
      const { total, items } = await loadItems(em, rendition, selection, { limit: pageSize, offset: (q.page - 1) * pageSize });
      const live = q.page === 1 && !('ids' in selection) ? await this.#live(em, base, selection.where, rendition) : [];
      const enclosureUrl = this.#ctx.services.maybe('audio.enclosureUrl');
      const pageUrl = (page: number) => {
        const u = new URL(koa.path, `${base}/`);
        for (const [k, v] of Object.entries({ ...q, page: page === 1 ? undefined : page, ...(token ? { token } : {}) })) if (v !== undefined) u.searchParams.set(k, String(v));
        return u.toString();
      };
      const newest = Math.max(
        items.reduce((m, i) => Math.max(m, new Date(i.file.createdAt).getTime(), new Date(i.date).getTime()), 0),
        live.reduce((m, l) => Math.max(m, l.sitting.changedAt.getTime()), 0),
      );
      const lastBuildDate = new Date(Math.floor((newest || Date.now()) / 1000) * 1000);
      const channel: Channel = {
        ...meta,
        link: `${base}${meta.link}`,
        self: pageUrl(q.page),
        first: pageUrl(1),
        ...(q.page * pageSize < total ? { next: pageUrl(q.page + 1) } : {}),
        ...(q.page > 1 ? { previous: pageUrl(q.page - 1) } : {}),
        imageUrl: this.#ctx.options.imageUrl ?? `${base}/feeds/artwork.png`,
        ownerName: this.#ctx.options.ownerName,
        ownerEmail: this.#ctx.options.ownerEmail,
        category: this.#ctx.options.category,
        lastBuildDate,
      };
      const body = renderFeed(
        channel,
        items.map((item: FeedItem) => ({
          item,
          urls: {
            guid: `robian:debate:${item.debateId}:${item.file.format}-${item.file.quality}`,
            enclosure: `${base}${enclosureUrl ? enclosureUrl(item.debateId, item.file, enclosureTtlDays * 86_400) : `/api/debats/${item.debateId}/audio?format=${item.file.format}&quality=${item.file.quality}`}`,
            page: `${base}/api/debats/${item.debateId}`,
            ...(item.chapters || item.transcript ? { chapters: `${base}/api/debats/${item.debateId}/chapters?format=podcast` } : {}),
            ...(item.transcript ? { vtt: `${base}/api/debats/${item.debateId}/transcript?format=vtt`, srt: `${base}/api/debats/${item.debateId}/transcript?format=srt` } : {}),
            person: (slug) => `${base}/api/deputes/${encodeURIComponent(slug)}/debats`,
          },
        })),
        live,
      );
      return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`, lastModified: lastBuildDate.toUTCString() };
    });
  }

  /**
   * The feed's sittings covered by a live stream (pending, on air, just ended), as `podcast:liveItem`s
   * whose enclosure is plugin-audio's live relay; only debates of a source that has live streams.
   */
  async #live(em: EntityManager, base: string, where: object, rendition: Rendition): Promise<LiveEntry[]> {
    const sources = this.#ctx.sources.registry.list().filter((s) => typeof s.liveStream === 'function').map((s) => s.id);
    const sittings = await loadLiveSittings(em, { sources, where: where as never, rendition, windowMs: this.#ctx.options.liveWindowHours * 3_600_000, now: Date.now(), limit: 20 });
    return sittings.map((s) => ({ sitting: s, guid: `robian:live:${s.debateId}`, enclosure: `${base}/api/debats/${s.debateId}/live`, page: `${base}/api/debats/${s.debateId}` }));
  }

  #send(koa: RobianContext, rendered: Rendered): undefined {
    koa.set('ETag', rendered.etag);
    koa.set('Last-Modified', rendered.lastModified);
    koa.set('Cache-Control', 'public, max-age=60');
    koa.status = 200;
    const inm = koa.get('if-none-match');
    const ims = koa.get('if-modified-since');
    if ((inm && inm.split(',').some((t) => t.trim() === rendered.etag)) || (!inm && ims && Date.parse(ims) >= Date.parse(rendered.lastModified))) {
      koa.status = 304;
      return undefined;
    }
    koa.type = RSS;
    koa.body = rendered.body;
    return undefined;
  }
}
