import type { FeedItem } from './items.ts';
import type { LiveSitting } from './live.ts';
import { el, esc, hms } from './xml.ts';

export interface Channel {
  title: string;
  description: string;
  /** The feed's own URL (atom:link rel=self). */
  self: string;
  /** A page for humans: the API's list the feed mirrors. */
  link: string;
  imageUrl: string;
  ownerName: string;
  ownerEmail: string;
  category: string;
  /** RFC 5005 paging: the other pages of this feed. */
  first: string;
  next?: string;
  previous?: string;
  lastBuildDate: Date;
}

export interface ItemUrls {
  guid: string;
  enclosure: string;
  page: string;
  chapters?: string;
  vtt?: string;
  srt?: string;
  person: (slug: string) => string;
}

export interface LiveEntry {
  sitting: LiveSitting;
  /** `robian:live:{id}`: the same whatever the status. */
  guid: string;
  /** The live relay's HLS playlist (it answers while the sitting is on air). */
  enclosure: string;
  page: string;
}

const MIME: Record<string, string> = { mp3: 'audio/mpeg', aac: 'audio/mp4', opus: 'audio/ogg', wav: 'audio/wav' };

function item(i: FeedItem, urls: ItemUrls): string {
  const duration = i.file.durationSeconds ?? 0;
  const description = [i.description, i.commission ? `Commission : ${i.commission}` : null, i.speakers.length ? `Orateurs : ${i.speakers.map((s) => s.fullName).join(', ')}` : null]
    .filter(Boolean)
    .join('\n\n');
  return [
    '<item>',
    el('title', {}, i.title),
    el('guid', { isPermaLink: 'false' }, urls.guid),
    el('link', {}, urls.page),
    el('pubDate', {}, i.date.toUTCString()),
    el('description', {}, description || i.title),
    el('enclosure', { url: urls.enclosure, length: i.file.fileSize, type: MIME[i.file.format] ?? i.file.mimeType }),
    el('itunes:duration', {}, hms(Number(duration))),
    el('itunes:episodeType', {}, 'full'),
    el('itunes:explicit', {}, 'false'),
    urls.chapters ? el('podcast:chapters', { url: urls.chapters, type: 'application/json+chapters' }) : '',
    urls.vtt ? el('podcast:transcript', { url: urls.vtt, type: 'text/vtt', language: 'fr', rel: 'captions' }) : '',
    urls.srt ? el('podcast:transcript', { url: urls.srt, type: 'application/x-subrip', language: 'fr', rel: 'captions' }) : '',
    ...i.speakers.map((s) => el('podcast:person', { role: 'guest', group: 'cast', href: urls.person(s.slug) }, s.group ? `${s.fullName} (${s.group})` : s.fullName)),
    '</item>',
  ].join('');
}

function liveItem({ sitting: s, guid, enclosure, page }: LiveEntry): string {
  return [
    el('podcast:liveItem', { status: s.status, start: s.start.toISOString(), end: s.end?.toISOString() }).replace('/>', '>'),
    el('title', {}, s.title),
    el('guid', { isPermaLink: 'false' }, guid),
    el('link', {}, page),
    el('description', {}, s.description || s.title),
    el('enclosure', { url: enclosure, length: 0, type: 'application/vnd.apple.mpegurl' }),
    s.sourceUrl ? el('podcast:contentLink', { href: s.sourceUrl }, 'Sur le site du Parlement') : '',
    '</podcast:liveItem>',
  ].join('');
}

/** An RSS 2.0 feed with the iTunes, Podcasting 2.0 and Atom namespaces. */
export function renderFeed(channel: Channel, items: { item: FeedItem; urls: ItemUrls }[], live: LiveEntry[] = []): string {
  const links = [
    el('atom:link', { rel: 'self', type: 'application/rss+xml', href: channel.self }),
    el('atom:link', { rel: 'first', href: channel.first }),
    channel.next ? el('atom:link', { rel: 'next', href: channel.next }) : '',
    channel.previous ? el('atom:link', { rel: 'previous', href: channel.previous }) : '',
  ].join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:atom="http://www.w3.org/2005/Atom">' +
    '<channel>' +
    el('title', {}, channel.title) +
    el('link', {}, channel.link) +
    el('description', {}, channel.description) +
    el('language', {}, 'fr') +
    el('generator', {}, 'Robian') +
    el('lastBuildDate', {}, channel.lastBuildDate.toUTCString()) +
    links +
    `<image>${el('url', {}, channel.imageUrl)}${el('title', {}, channel.title)}${el('link', {}, channel.link)}</image>` +
    el('itunes:image', { href: channel.imageUrl }) +
    el('itunes:author', {}, channel.ownerName) +
    `<itunes:owner>${el('itunes:name', {}, channel.ownerName)}${el('itunes:email', {}, channel.ownerEmail)}</itunes:owner>` +
    el('itunes:category', { text: channel.category }) +
    el('itunes:explicit', {}, 'false') +
    el('itunes:type', {}, 'episodic') +
    el('podcast:locked', {}, 'no') +
    el('podcast:medium', {}, 'podcast') +
    live.map(liveItem).join('') +
    items.map(({ item: i, urls }) => item(i, urls)).join('') +
    '</channel></rss>\n'
  );
}

/** OPML 2.0: one outline per feed. */
export function renderOpml(title: string, feeds: { title: string; xmlUrl: string; htmlUrl: string }[]): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head>' +
    el('title', {}, title) +
    el('dateCreated', {}, new Date().toUTCString()) +
    '</head><body>' +
    feeds.map((f) => `<outline type="rss" text="${esc(f.title)}" title="${esc(f.title)}" xmlUrl="${esc(f.xmlUrl)}" htmlUrl="${esc(f.htmlUrl)}"/>`).join('') +
    '</body></opml>\n'
  );
}
