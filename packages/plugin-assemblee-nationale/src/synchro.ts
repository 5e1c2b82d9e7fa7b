import type { DebateChapter } from '@robian/core';
import { decodeText } from './fetcher.ts';
import type { Speech } from './report.ts';

/** A `liveplayer.nvs` / `finalplayer.nvs`: the player's start (epoch ms) and its synchros (ms from it). */
export interface PlayerTimeline {
  startTime: number | null;
  synchros: Map<string, number>;
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z_:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

/**
 * Reads a player NVS leniently (BOM, Latin-1, unknown elements and attributes, seconds or
 * milliseconds in `starttime`): `<player starttime="…"><synchro id="…" timecode="…"/>…`. A synchro
 * without an id or a numeric timecode is skipped; the first one of an id wins.
 */
export function parsePlayer(body: string | Buffer): PlayerTimeline {
  const text = (typeof body === 'string' ? body : decodeText(body)).replace(/^\uFEFF/, '');
  const player = /<player\b([^>]*)>/i.exec(text);
  const start = Number(player ? attrs(player[1]!).starttime : NaN);
  const synchros = new Map<string, number>();
  for (const m of text.matchAll(/<synchro\b([^>]*?)\/?>/gi)) {
    const a = attrs(m[1]!);
    const tc = Number(a.timecode);
    if (!a.id || !Number.isFinite(tc) || tc < 0 || synchros.has(a.id)) continue;
    synchros.set(a.id, tc);
  }
  return { startTime: Number.isFinite(start) && start > 0 ? (start < 1e11 ? start * 1000 : start) : null, synchros };
}

/** Chapters with `end_seconds` = the next later start (the last one open). */
export function withEnds(chapters: DebateChapter[]): DebateChapter[] {
  const starts = [...new Set(chapters.map((c) => c.start_seconds).filter((s): s is number => s !== null))].sort((a, b) => a - b);
  return chapters.map((c) => {
    if (c.start_seconds === null) return { ...c, end_seconds: null };
    const next = starts.find((s) => s > c.start_seconds!);
    return { ...c, end_seconds: next ?? null };
  });
}

/** Consecutive paragraphs of one speaker make one intervention (the compte rendu splits them). */
export function interventions(speeches: Speech[]): { speakerExternalId: string; stime: number }[] {
  const out: { speakerExternalId: string; stime: number }[] = [];
  let last: string | null = null;
  for (const s of speeches) {
    if (s.speakerExternalId !== last && s.speakerExternalId && s.stime !== null) out.push({ speakerExternalId: s.speakerExternalId, stime: s.stime });
    if (s.speakerExternalId) last = s.speakerExternalId;
  }
  return out;
}

export interface ChapterTiming {
  chapters: DebateChapter[];
  /** Where the times came from. */
  source: 'synchro' | 'compte_rendu' | 'none';
  timed: number;
  /** Chapters whose synchro and compte-rendu times differ by more than the tolerance. */
  disagreements: { title: string; synchro_seconds: number; report_seconds: number; difference_seconds: number }[];
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Gives the NVS chapters their times. With a player timeline, a chapter whose id has a synchro
 * starts at its timecode (ms from the player's start, which is the recording's start); with none,
 * the chapters of a speaker take the stimes of that speaker's interventions in the compte rendu,
 * in order. Both present: each speaker chapter is checked against the nearest intervention of the
 * same speaker, and those further than `toleranceSeconds` are reported.
 */
export function timeChapters(chapters: DebateChapter[], chapterIds: (string | null)[], timeline: PlayerTimeline | null, speeches: Speech[] | null, toleranceSeconds: number): ChapterTiming {
  const turns = speeches ? interventions(speeches) : [];
  const disagreements: ChapterTiming['disagreements'] = [];
  let source: ChapterTiming['source'] = 'none';
  let placed: DebateChapter[];
  if (timeline && timeline.synchros.size && chapterIds.some((id) => id && timeline.synchros.has(id))) {
    source = 'synchro';
    placed = chapters.map((c, i) => {
      const tc = chapterIds[i] ? timeline.synchros.get(chapterIds[i]!) : undefined;
      return { ...c, start_seconds: tc === undefined ? null : round(tc / 1000) };
    });
    for (const c of placed) {
      if (c.start_seconds === null || !c.speaker_external_id) continue;
      const mine = turns.filter((t) => t.speakerExternalId === c.speaker_external_id);
      if (!mine.length) continue;
      const nearest = mine.reduce((best, t) => (Math.abs(t.stime - c.start_seconds!) < Math.abs(best.stime - c.start_seconds!) ? t : best));
      const diff = round(nearest.stime - c.start_seconds);
      if (Math.abs(diff) > toleranceSeconds) disagreements.push({ title: c.title, synchro_seconds: c.start_seconds, report_seconds: nearest.stime, difference_seconds: diff });
    }
  } else if (turns.length) {
    source = 'compte_rendu';
    const used = new Map<string, number>();
    placed = chapters.map((c) => {
      if (!c.speaker_external_id) return { ...c, start_seconds: null };
      const k = used.get(c.speaker_external_id) ?? 0;
      const turn = turns.filter((t) => t.speakerExternalId === c.speaker_external_id)[k];
      used.set(c.speaker_external_id, k + 1);
      return { ...c, start_seconds: turn ? round(turn.stime) : null };
    });
  } else {
    placed = chapters.map((c) => ({ ...c }));
  }
  const out = withEnds(placed);
  return { chapters: out, source, timed: out.filter((c) => c.start_seconds !== null).length, disagreements };
}
