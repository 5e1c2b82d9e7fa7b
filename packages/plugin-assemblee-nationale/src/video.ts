import { XMLParser } from 'fast-xml-parser';
import type { CacheNamespace, DebateChapter, MediaCandidate, MediaSpeaker, ResolvedMedia } from '@robian/core';
import { FetchError, isThrottled, type PoliteFetcher } from './fetcher.ts';
import { DEFAULT_BASES, type AssembleeOptions } from './options.ts';
import { asArray, cleanText, decodeEntities, isRecord } from './text.ts';

/** What a `videos.assemblee-nationale.fr/video.<uid>…` page says about its recording. */
export interface VideoPage {
  interfaceUid: string;
  /** The MP4 (`og:video` / `itemprop=contentURL`). */
  mp4Url: string | null;
  /** The HLS master built from `config_json`. */
  hlsUrl: string | null;
  downloadUrl: string | null;
  folder: string | null;
  title: string | null;
  description: string | null;
  thumbnailUrl: string | null;
  captionsUrl: string | null;
  reportUrl: string | null;
}

/** What a `Datas/an/<uid>/content/data.nvs` file says. */
export interface VideoNvs {
  interfaceUid: string | null;
  title: string | null;
  description: string | null;
  meetingId: string | null;
  /** Epoch milliseconds of the recording's start (metadata `date`). */
  recordedAt: number | null;
  legislature: number | null;
  videoType: string | null;
  files: { title: string; url: string }[];
  chapters: DebateChapter[];
  /** The `<chapter id>` of each chapter (same order): what a player NVS's synchros name. */
  chapterIds: (string | null)[];
  speakers: MediaSpeaker[];
  /** The compte rendu's address (metadata `report`), when given. */
  reportUrl: string | null;
}

const INTERFACE_UID = /^\d{4,12}_[0-9a-f]{6,20}$/i;

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z_:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) out[m[1]!.toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? '');
  return out;
}

/** Reads the parts of the page a resolver needs (see the fixtures README, "The video page"). */
export function parseVideoPage(html: string, pageUrl: string): VideoPage {
  const meta = new Map<string, string>();
  for (const m of html.matchAll(/<meta\b[^>]*>/gi)) {
    const a = attributes(m[0]);
    const key = a.property ?? a.itemprop ?? a.name;
    if (key && a.content !== undefined && !meta.has(key.toLowerCase())) meta.set(key.toLowerCase(), a.content);
  }
  let config: Record<string, unknown> = {};
  const block = /config_json\s*=\s*(\{[\s\S]*?\})\s*;/.exec(html);
  if (block) {
    try {
      const parsed = JSON.parse(block[1]!) as unknown;
      if (isRecord(parsed)) config = parsed;
    } catch {
      for (const m of block[1]!.matchAll(/"([a-z_]+)"\s*:\s*"([^"]*)"/g)) config[m[1]!] = m[2];
    }
  }
  const jsVar = (name: string) => new RegExp(`var\\s+${name}\\s*=\\s*(?:'([^']*)'|"([^"]*)")`).exec(html);
  const captionVar = jsVar('captionUrl');
  const reportVar = jsVar('reportUrl');
  const uidCandidates = [
    /\/video\.(\d+_[0-9a-f]+)/i.exec(pageUrl)?.[1],
    /video\.(\d+_[0-9a-f]+)/i.exec(meta.get('og:url') ?? '')?.[1],
    /\/Datas\/an\/(\d+_[0-9a-f]+)\//i.exec(html)?.[1],
  ];
  const interfaceUid = uidCandidates.find((u): u is string => typeof u === 'string' && INTERFACE_UID.test(u));
  if (!interfaceUid) throw new FetchError(pageUrl, 'the page names no video (no interface uid found)');
  const mp4Url = meta.get('og:video') ?? meta.get('og:video:url') ?? meta.get('contenturl') ?? null;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  const vodUrl = str(config.vod_url);
  const downloadUrl = str(config.download_url);
  const folder = str(config.folder);
  const playlist = str(config.hls_playlist) ?? '/master.m3u8';
  let hlsUrl: string | null = null;
  if (vodUrl && folder && mp4Url) {
    // og:video = download_url + folder + <yyyy>/<mm>/<file>.mp4; the HLS master is vod_url + folder + the same + hls_playlist
    const prefix = downloadUrl ? `${downloadUrl}${folder}` : null;
    let relative: string | null = prefix && mp4Url.startsWith(prefix) ? mp4Url.slice(prefix.length) : null;
    if (!relative) {
      const m = /(\d{4}\/\d{2}\/[^/?#]+\.mp4)(?:[?#].*)?$/i.exec(mp4Url);
      relative = m ? m[1]! : null;
    }
    if (relative) hlsUrl = `${vodUrl}${folder}${relative}${playlist.startsWith('/') ? playlist : `/${playlist}`}`;
  }
  const abs = (v: string | null | undefined) => {
    if (!v) return null;
    try {
      return new URL(v, pageUrl).href;
    } catch {
      return null;
    }
  };
  return {
    interfaceUid,
    mp4Url: abs(mp4Url),
    hlsUrl: abs(hlsUrl),
    downloadUrl,
    folder,
    title: meta.get('og:title') ? cleanText(meta.get('og:title')) : null,
    description: meta.get('og:description') ?? meta.get('description') ?? null,
    thumbnailUrl: abs(meta.get('og:image') ?? meta.get('thumbnailurl')),
    captionsUrl: abs(captionVar?.[1] ?? captionVar?.[2]),
    reportUrl: abs(reportVar?.[1] ?? reportVar?.[2]),
  };
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ['chapter', 'speaker', 'file', 'metadata', 'type', 'theme'].includes(name),
});

const VIDEO_TYPES: Record<string, VideoNvs['videoType']> = { S: 'seance_publique', C: 'commission' };

/** Reads a Vodalys `data.nvs`: chapters (in order, with the AN speaker ids), media files and metadata. */
export function parseNvs(text: string): VideoNvs {
  let doc: unknown;
  try {
    doc = xml.parse(text);
  } catch (err) {
    throw new Error(`data.nvs is not XML: ${(err as Error).message}`);
  }
  const data = isRecord(doc) && isRecord(doc.data) ? doc.data : undefined;
  if (!data) throw new Error('data.nvs has no <data> root');
  const attr = (node: unknown, name: string): string | null => {
    const v = isRecord(node) ? node[`@_${name}`] : undefined;
    return typeof v === 'string' ? decodeEntities(v) : null;
  };
  const text1 = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? cleanText(v) : null);

  const people = new Map<string, MediaSpeaker>();
  const speakers: MediaSpeaker[] = [];
  for (const s of asArray(isRecord(data.speakers) ? (data.speakers.speaker as unknown) : undefined)) {
    if (!isRecord(s)) continue;
    const id = attr(s, 'id');
    const anId = text1(s.url);
    const name = text1(s.name);
    if (!id || !anId || !name || !/^\d{1,10}$/.test(anId)) continue;
    const speaker = { externalId: `PA${anId}`, name };
    people.set(id, speaker);
    if (!speakers.some((x) => x.externalId === speaker.externalId)) speakers.push(speaker);
  }

  const chapters: DebateChapter[] = [];
  const chapterIds: (string | null)[] = [];
  const walk = (nodes: unknown, level: number) => {
    for (const c of asArray(nodes as unknown[])) {
      if (!isRecord(c)) continue;
      const label = attr(c, 'label');
      const kind = asArray(c.type as unknown[]).map((t) => attr(t, 'value')).find((v): v is string => !!v) ?? null;
      const ref = asArray(c.speaker as unknown[]).map((s) => attr(s, 'id')).find((v): v is string => !!v);
      const who = ref ? people.get(ref) : undefined;
      if (label) {
        chapterIds.push(attr(c, 'id'));
        chapters.push({
          title: cleanText(label).slice(0, 1000),
          start_seconds: null,
          level,
          kind: kind ? cleanText(kind) : null,
          speaker_external_id: who?.externalId ?? null,
          speaker_name: who?.name ?? null,
        });
      }
      if (c.chapter) walk(c.chapter, level + 1);
    }
  };
  if (isRecord(data.chapters)) walk(data.chapters.chapter, 0);

  const metadata = new Map<string, string>();
  for (const m of asArray(isRecord(data.metadatas) ? (data.metadatas.metadata as unknown) : undefined)) {
    const name = attr(m, 'name');
    const value = attr(m, 'value');
    if (name && value !== null && !metadata.has(name)) metadata.set(name, value);
  }
  const files: VideoNvs['files'] = [];
  for (const f of asArray(isRecord(data.files) ? (data.files.file as unknown) : undefined)) {
    const title = attr(f, 'title');
    const url = attr(f, 'url');
    if (title && url) files.push({ title, url });
  }
  const epoch = Number(metadata.get('date'));
  const legislature = Number(metadata.get('legislature'));
  const meetingId = metadata.get('meeting_id')?.trim() ?? null;
  const description = metadata.get('description');
  return {
    interfaceUid: attr(data, 'interfaceuid'),
    title: attr(data, 'mediatitle') ? cleanText(attr(data, 'mediatitle')) : null,
    description: description
      ? description
          .replace(/<br\s*\/?>/gi, '\n')
          .replace(/<[^>]+>/g, '')
          .split('\n')
          .map((l) => cleanText(l))
          .filter(Boolean)
          .join('\n')
      : null,
    meetingId: meetingId && /^[A-Za-z0-9_-]{2,128}$/.test(meetingId) ? meetingId : null,
    recordedAt: Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : null,
    legislature: Number.isInteger(legislature) && legislature > 0 ? legislature : null,
    videoType: VIDEO_TYPES[metadata.get('video_type') ?? ''] ?? null,
    files,
    chapters,
    chapterIds,
    speakers,
    reportUrl: metadata.get('report')?.trim() || null,
  };
}

/**
 * The MP3 published beside the MP4. The NVS names files on the encoder's storage
 * (`serverfiles://data9/domain1/<yyyy>/<mm>/<file>`); its `source` file is the MP4 the page gives
 * as `og:video`, so the storage prefix maps to the public prefix by their common suffix, and the
 * same mapping gives the MP3's URL. Without a `source` file, `download_url + folder` is used.
 */
export function publicUrlOf(file: string, nvs: VideoNvs, page: VideoPage): string | null {
  if (!/^serverfiles:\/\//i.test(file)) return /^https?:\/\//i.test(file) ? file : null;
  const source = nvs.files.find((f) => f.title === 'source')?.url;
  if (source && page.mp4Url) {
    let i = 0;
    while (i < source.length && i < page.mp4Url.length && source[source.length - 1 - i] === page.mp4Url[page.mp4Url.length - 1 - i]) i++;
    // align the common suffix on a path boundary
    const suffix = source.slice(source.length - i);
    const cut = suffix.indexOf('/');
    if (cut >= 0) {
      const common = suffix.slice(cut);
      const storagePrefix = source.slice(0, source.length - common.length);
      const publicPrefix = page.mp4Url.slice(0, page.mp4Url.length - common.length);
      if (file.startsWith(storagePrefix)) return publicPrefix + file.slice(storagePrefix.length);
    }
  }
  const m = /^serverfiles:\/\/[^/]+\/(domain\d+\/.+)$/i.exec(file);
  if (m && page.downloadUrl && page.folder) {
    const folder = page.folder.replace(/domain\d+\/?$/i, '');
    return `${page.downloadUrl}${folder}${m[1]}`;
  }
  return null;
}

export interface ResolverDeps {
  fetcher: PoliteFetcher;
  options: AssembleeOptions;
  cache: CacheNamespace;
}

/** Rewrites the published hosts to the configured base URLs (mirrors, tests); other URLs are kept. */
export function rebase(url: string, options: AssembleeOptions): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  const pairs: [string, string][] = [
    [DEFAULT_BASES.videosBaseUrl, options.videosBaseUrl],
    [DEFAULT_BASES.hlsBaseUrl, options.hlsBaseUrl],
    [DEFAULT_BASES.originBaseUrl, options.originBaseUrl],
  ];
  for (const [published, configured] of pairs) {
    if (published === configured) continue;
    if (u.hostname.toLowerCase() === new URL(published).hostname) return `${configured}${u.pathname.replace(/^\//, '')}${u.search}`;
  }
  return url;
}

/** Turns a video page into media candidates, chapters, speakers and the réunion uid. */
export class VideoResolver {
  readonly #deps: ResolverDeps;

  constructor(deps: ResolverDeps) {
    this.#deps = deps;
  }

  /** True for `…/video.<digits>_<hex>…` pages on the video site (or its configured mirror). */
  canResolve(url: URL): boolean {
    const host = url.hostname.toLowerCase();
    const hosts = [new URL(this.#deps.options.videosBaseUrl).hostname, new URL(DEFAULT_BASES.videosBaseUrl).hostname];
    return (url.protocol === 'http:' || url.protocol === 'https:') && hosts.includes(host) && /\/video\.\d+_[0-9a-f]+/i.test(url.pathname);
  }

  /** The page URL to fetch: the configured mirror's when the URL names the published site. */
  pageUrl(url: URL): string {
    const { options } = this.#deps;
    const published = new URL(DEFAULT_BASES.videosBaseUrl);
    const configured = new URL(options.videosBaseUrl);
    if (url.hostname.toLowerCase() === published.hostname && configured.hostname !== published.hostname) return rebase(url.href, options);
    if (url.hostname.toLowerCase() === configured.hostname && url.port === configured.port) {
      return `${configured.protocol}//${configured.host}${url.pathname}${url.search}`;
    }
    return url.href;
  }

  async page(url: URL, signal?: AbortSignal): Promise<VideoPage & { url: string }> {
    const { fetcher, options, cache } = this.#deps;
    const target = this.pageUrl(url);
    return cache.wrap(`page:${target}`, async () => {
      const { text, url: finalUrl } = await fetcher.text(target, { timeoutMs: options.requestTimeoutMs, maxBytes: 5 * 1024 ** 2, ...(signal ? { signal } : {}) });
      return { ...parseVideoPage(text, finalUrl), url: finalUrl };
    });
  }

  async nvs(interfaceUid: string, signal?: AbortSignal): Promise<VideoNvs> {
    const { fetcher, options, cache } = this.#deps;
    if (!INTERFACE_UID.test(interfaceUid)) throw new Error(`invalid interface uid ${interfaceUid}`);
    const target = `${options.videosBaseUrl}Datas/an/${interfaceUid}/content/data.nvs`;
    return cache.wrap(`nvs:${target}`, async () => {
      const { text } = await fetcher.text(target, { timeoutMs: options.requestTimeoutMs, maxBytes: 20 * 1024 ** 2, accept: 'application/xml,text/xml;q=0.9,*/*;q=0.5', ...(signal ? { signal } : {}) });
      return parseNvs(text);
    });
  }

  /**
   * Candidates cheapest first: the published MP3 (no transcoding for an MP3 rendition), the MP4
   * (its AAC is copied), the HLS master (fallback). Only URLs on the plugin's hosts are offered.
   */
  async resolve(url: URL, options: { signal?: AbortSignal } = {}): Promise<ResolvedMedia & { warnings: string[]; interfaceUid: string }> {
    const opts = this.#deps.options;
    const page = await this.page(url, options.signal);
    const warnings: string[] = [];
    let nvs: VideoNvs | undefined;
    try {
      nvs = await this.nvs(page.interfaceUid, options.signal);
    } catch (err) {
      // throttled: no link without the NVS (no réunion, no chapters) that a later run would not redo
      if (options.signal?.aborted || isThrottled(err)) throw err;
      warnings.push(`data.nvs unavailable: ${(err as Error).message}`);
    }
    const candidates: MediaCandidate[] = [];
    const offer = (candidate: MediaCandidate) => {
      const href = rebase(candidate.url, opts);
      try {
        this.#deps.fetcher.checkAllowed(new URL(href));
      } catch (err) {
        warnings.push(`${candidate.origin ?? candidate.kind} candidate dropped: ${(err as Error).message}`);
        return;
      }
      if (!candidates.some((c) => c.url === href)) candidates.push({ ...candidate, url: href });
    };
    const audio = nvs?.files.find((f) => f.title === 'audio' && /\.mp3$/i.test(f.url));
    if (audio && nvs) {
      const mp3 = publicUrlOf(audio.url, nvs, page);
      if (mp3) offer({ url: mp3, kind: 'mp3', audioCodec: 'mp3', origin: 'nvs:audio', verified: false });
      else warnings.push(`no public URL for the audio file ${audio.url}`);
    }
    if (page.mp4Url) offer({ url: page.mp4Url, kind: 'mp4', audioCodec: 'aac', origin: 'og:video' });
    else {
      // no og:video: the NVS `source` file, mapped like the MP3
      const source = nvs?.files.find((f) => f.title === 'source' && /\.mp4$/i.test(f.url));
      const mp4 = source && nvs ? publicUrlOf(source.url, nvs, page) : null;
      if (mp4) offer({ url: mp4, kind: 'mp4', audioCodec: 'aac', origin: 'nvs:source', verified: false });
    }
    if (page.hlsUrl) offer({ url: page.hlsUrl, kind: 'hls', audioCodec: 'aac', origin: 'config_json' });
    if (candidates.length === 0) throw new FetchError(page.url, 'the page offers no media on the plugin hosts');
    const recordedAt = nvs?.recordedAt ? new Date(nvs.recordedAt) : undefined;
    const description = nvs?.description ?? (page.description ? cleanText(page.description) : undefined);
    const title = nvs?.title ?? page.title ?? undefined;
    const thumbnail = page.thumbnailUrl ? rebase(page.thumbnailUrl, opts) : undefined;
    return {
      candidates,
      interfaceUid: page.interfaceUid,
      pageUrl: page.url,
      warnings,
      ...(nvs ? { chapters: nvs.chapters, speakers: nvs.speakers } : {}),
      ...(nvs?.meetingId ? { meetingExternalId: nvs.meetingId } : {}),
      ...(title ? { title } : {}),
      ...(description ? { description } : {}),
      ...(thumbnail ? { thumbnailUrl: thumbnail } : {}),
      ...(page.captionsUrl ? { captionsUrl: rebase(page.captionsUrl, opts) } : {}),
      ...(page.reportUrl ? { reportUrl: page.reportUrl } : {}),
      ...(recordedAt ? { recordedAt } : {}),
      ...(nvs?.legislature ? { legislature: nvs.legislature } : {}),
      ...(nvs?.videoType ? { debateType: nvs.videoType as NonNullable<ResolvedMedia['debateType']> } : {}),
    };
  }
}
