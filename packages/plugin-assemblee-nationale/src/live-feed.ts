import { decodeText } from './fetcher.ts';
import { cleanText, decodeEntities } from './text.ts';

/** A line of `live/live.txt`: a live flux and the media uid it carries. */
export interface LiveFlux {
  flux: string;
  mediaUid: string | null;
}

/** A `<diffusion>` of `php/getedito.php`: what a flux shows, joined to its réunion by `uid_referentiel`. */
export interface Diffusion {
  flux: string | null;
  meetingId: string | null;
  title: string | null;
  organe: string | null;
  /** HHMM as published (times before 06:00 are after midnight). */
  time: string | null;
  place: string | null;
}

const FLUX = /^[A-Za-z0-9_-]{1,32}$/;

/** Reads `live.txt`: one `<flux> <media uid>` per line (BOM, CRLF, blank and comment lines, extra columns accepted). */
export function parseLiveTxt(body: string | Buffer): LiveFlux[] {
  const text = (typeof body === 'string' ? body : decodeText(body)).replace(/^\uFEFF/, '');
  const out: LiveFlux[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [flux, uid] = line.split(/[\s;,|]+/);
    if (!flux || !FLUX.test(flux) || out.some((f) => f.flux === flux)) continue;
    out.push({ flux, mediaUid: uid && /^[A-Za-z0-9_-]{2,64}$/.test(uid) ? uid : null });
  }
  return out;
}

const field = (block: string, name: string): string | null => {
  const m = new RegExp(`<${name}\\b[^>]*>([\\s\\S]*?)</${name}>`, 'i').exec(block);
  if (!m) return null;
  const v = cleanText(decodeEntities(m[1]!.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')).replace(/<[^>]+>/g, ' '));
  return v || null;
};

/** Reads `getedito.php` leniently (BOM, Latin-1, HTML-escaped subjects, unknown or missing fields). */
export function parseEdito(body: string | Buffer): Diffusion[] {
  const text = (typeof body === 'string' ? body : decodeText(body)).replace(/^\uFEFF/, '');
  const out: Diffusion[] = [];
  for (const m of text.matchAll(/<diffusion\b[^>]*>([\s\S]*?)<\/diffusion>/gi)) {
    const b = m[1]!;
    const meeting = field(b, 'uid_referentiel');
    out.push({
      flux: field(b, 'flux'),
      meetingId: meeting && /^[A-Za-z0-9_-]{2,128}$/.test(meeting) ? meeting : null,
      title: field(b, 'sujet') ?? field(b, 'libelle'),
      organe: field(b, 'id_organe'),
      time: field(b, 'heure'),
      place: field(b, 'lieu'),
    });
  }
  return out;
}
