// The Sénat's video platform (videos.senat.fr), read leniently: unknown fields are ignored, missing
// ones become null, a UTF-8 BOM is dropped. Two documents matter here:
// - senat_lives.json: an object keyed by flux, each `{nid, mediaId, title, date (epoch s),
//   videotype, commission, url, lang, stream}`;
// - Datas/senat/<id>/content/data.nvs: XML whose `<data status="…">` says vod or live and whose
//   `<file title="…" url="…"/>` entries name the media.

export interface SenatLive {
  flux: string;
  mediaId: string;
  nid: string | null;
  title: string;
  startsAt: Date | null;
  videoType: string | null;
  commission: string | null;
  pageUrl: string | null;
  streamUrl: string | null;
}

export interface SenatMediaFile {
  title: string;
  url: string;
}

export interface SenatNvs {
  status: string | null;
  title: string | null;
  files: SenatMediaFile[];
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : null);

export function parseLives(body: string): { lives: SenatLive[]; problems: { flux: string; reason: string }[] } {
  const json = JSON.parse(body.replace(/^\uFEFF/, '')) as unknown;
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('senat_lives.json: expected an object keyed by flux');
  const lives: SenatLive[] = [];
  const problems: { flux: string; reason: string }[] = [];
  for (const [flux, raw] of Object.entries(json as Record<string, unknown>)) {
    const r = (raw ?? {}) as Record<string, unknown>;
    const mediaId = text(r.mediaId);
    const title = text(r.title);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(flux) || !mediaId || !/^[A-Za-z0-9_-]{1,64}$/.test(mediaId) || !title) {
      problems.push({ flux, reason: 'no usable flux, mediaId or title' });
      continue;
    }
    const epoch = Number(r.date);
    lives.push({
      flux,
      mediaId,
      nid: text(r.nid),
      title,
      startsAt: Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : null,
      videoType: text(r.videotype),
      commission: text(r.commission),
      pageUrl: text(r.url),
      streamUrl: text(r.stream),
    });
  }
  return { lives, problems };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e] ?? m),
  );
const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? decode(m[1]!) : null;
};

export function parseNvs(body: string): SenatNvs {
  const xml = body.replace(/^\uFEFF/, '');
  const data = /<data\b[^>]*>/.exec(xml)?.[0] ?? '';
  const files: SenatMediaFile[] = [];
  for (const [tag] of xml.matchAll(/<file\b[^>]*>/g)) {
    const url = attr(tag, 'url');
    if (url) files.push({ title: attr(tag, 'title') ?? '', url });
  }
  return { status: attr(data, 'status'), title: attr(data, 'mediatitle'), files };
}
