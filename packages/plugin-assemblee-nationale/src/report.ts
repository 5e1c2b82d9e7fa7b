import { decodeText } from './fetcher.ts';
import { cleanText, decodeEntities } from './text.ts';

/** A speech of a compte rendu (Syceron XML): who, what, and its offset into the recording. */
export interface Speech {
  /** AN acteur uid (`PA842013`), when the paragraph names one. */
  speakerExternalId: string | null;
  speakerName: string | null;
  /** Seconds into the sitting's recording (`texte@stime`); null while the AN has not synchronised it (0). */
  stime: number | null;
  text: string;
}

export interface ParsedReport {
  uid: string | null;
  seanceRef: string | null;
  speeches: Speech[];
  /** True when at least one speech has a non-zero stime (the AN synchronised the video). */
  synchronised: boolean;
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z_:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) out[m[1]!.toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? '');
  return out;
}

const plain = (xml: string) =>
  cleanText(
    xml
      .replace(/<italique>[\s\S]*?<\/italique>/gi, ' ') // stage directions (applause…)
      .replace(/<br\s*\/?>/gi, ' ')
      .replace(/<[^>]+>/g, ''),
  );

/**
 * Reads the speeches of a compte rendu: each `<paragraphe>` of style NORMAL with a text (editorial
 * paragraphs are not speech). Read by pattern, not by schema: unknown elements and attributes,
 * missing speakers, a BOM or Latin-1 bytes are accepted.
 */
export function parseReport(body: string | Buffer): ParsedReport {
  const text = (typeof body === 'string' ? body : decodeText(body)).replace(/^\uFEFF/, '');
  const speeches: Speech[] = [];
  for (const m of text.matchAll(/<paragraphe\b([^>]*)>([\s\S]*?)<\/paragraphe>/g)) {
    const a = attrs(m[1]!);
    const style = a.code_style ?? 'NORMAL';
    if (style.toUpperCase() !== 'NORMAL') continue;
    const inner = m[2]!;
    const texte = /<texte\b([^>]*)>([\s\S]*?)<\/texte>/.exec(inner);
    if (!texte) continue;
    const words = plain(texte[2]!);
    if (!words) continue;
    const stime = Number(attrs(texte[1]!).stime);
    const id = a.id_acteur && /^PA\d+$/.test(a.id_acteur) ? a.id_acteur : /<orateur>[\s\S]*?<id>(\d+)<\/id>/.exec(inner)?.[1] ? `PA${/<orateur>[\s\S]*?<id>(\d+)<\/id>/.exec(inner)![1]}` : null;
    const nom = /<nom>([\s\S]*?)<\/nom>/.exec(inner)?.[1];
    speeches.push({ speakerExternalId: id, speakerName: nom ? plain(nom) || null : null, stime: Number.isFinite(stime) && stime > 0 ? stime : null, text: words });
  }
  return {
    uid: /<uid>\s*([^<\s]+)\s*<\/uid>/.exec(text)?.[1] ?? null,
    seanceRef: /<seanceRef>\s*([^<\s]+)\s*<\/seanceRef>/.exec(text)?.[1] ?? null,
    speeches,
    synchronised: speeches.some((s) => s.stime !== null),
  };
}

/** The compte rendu uid a report URL names (`…/comptes-rendus/seance/CRSANR5L17S2027O1N010`). */
export function reportUidOf(url: string | null | undefined): string | null {
  if (!url) return null;
  return /\b(CR[A-Z0-9]{8,40})(?:\.xml)?(?:[?#].*)?$/i.exec(url)?.[1] ?? null;
}
