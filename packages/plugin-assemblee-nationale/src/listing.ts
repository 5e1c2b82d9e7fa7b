import { decodeText } from './fetcher.ts';
import { cleanText, isRecord } from './text.ts';

/** One entry of the platform's listing (`php/eventsearch.php`). */
export interface ListedVideo {
  /** `<mediaId>_<hash>`: the page is `video.<uid>…`, the metadata `Datas/an/<uid>/content/data.nvs`. */
  interfaceUid: string;
  title: string | null;
  /** Epoch milliseconds of the recording, when given. */
  date: number | null;
  /** `S` séance, `C` commission, as the platform says. */
  videoType: string | null;
  commission: string | null;
}

const UID = /(\d{4,12}_[0-9a-f]{6,20})/i;

/**
 * Reads the JSON array `eventsearch.php` answers: lenient (a BOM, Latin-1, an object instead of an
 * array, unknown or missing fields); entries without a usable uid are left out.
 */
export function parseListing(body: string | Buffer): ListedVideo[] {
  const text = (typeof body === 'string' ? body : decodeText(body)).replace(/^\uFEFF/, '').trim();
  if (!text) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`the video listing is not JSON: ${(err as Error).message}`);
  }
  const items = Array.isArray(doc) ? doc : isRecord(doc) ? Object.values(doc).find(Array.isArray) ?? Object.values(doc) : [];
  const out: ListedVideo[] = [];
  const seen = new Set<string>();
  for (const item of items as unknown[]) {
    if (!isRecord(item)) continue;
    const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
    const uid = UID.exec(str(item.url))?.[1] ?? (str(item.mediaId) && /^[0-9a-f]{6,20}$/i.test(str(item.hash)) ? `${str(item.mediaId)}_${str(item.hash)}` : undefined);
    if (!uid || seen.has(uid.toLowerCase())) continue;
    seen.add(uid.toLowerCase());
    const epoch = Number(item.date);
    out.push({
      interfaceUid: uid,
      title: cleanText(item.title) || null,
      date: Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : null,
      videoType: cleanText(item.video_type) || null,
      commission: cleanText(item.commission) || null,
    });
  }
  return out;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The day in Paris (the platform's `Date=DD/MM/YYYY`) of an instant. */
export function parisDay(at: number): string {
  const parts = new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', day: '2-digit', month: '2-digit', year: 'numeric' }).formatToParts(new Date(at));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('day')}/${get('month')}/${get('year')}`;
}

/** The listing URL: the latest publications (no day), or one day's videos. */
export function listingUrl(videosBaseUrl: string, day?: string): string {
  if (!day) return `${videosBaseUrl}php/eventsearch.php`;
  const q = new URLSearchParams({ Date: day, Intervenant: '', Commission: '', Heure: '', TypeVideo: '', Rubrique: '' });
  return `${videosBaseUrl}php/eventsearch.php?${q.toString()}`;
}

/** The days (DD/MM/YYYY, Paris) of the catch-up window ending today, most recent first. */
export function catchUpDays(now: number, days: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < days; i++) {
    const d = parisDay(now - i * 86_400_000);
    if (!out.includes(d)) out.push(d);
  }
  return out;
}

export { pad };
