import type { DebateChapter } from './entities.ts';
import type { TranscriptSegmentRecord } from './transcripts.ts';

/**
 * A transcript as the files players and podcast apps read: WebVTT (with `<v Speaker>` voice spans),
 * SRT, and chapters in the Podcasting 2.0 JSON chapters format. Pure functions over stored segments.
 */

export const WEBVTT_TYPE = 'text/vtt; charset=utf-8';
export const SRT_TYPE = 'application/x-subrip; charset=utf-8';
/** The media type the Podcasting 2.0 namespace gives JSON chapters files. */
export const PODCAST_CHAPTERS_TYPE = 'application/json+chapters; charset=utf-8';
/** The version of the JSON chapters format `toPodcastChapters` writes. */
export const PODCAST_CHAPTERS_VERSION = '1.2.0';

/** `HH:MM:SS.mmm` (WebVTT) or `HH:MM:SS,mmm` (SRT). */
export function cueTimestamp(seconds: number, separator: '.' | ',' = '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

/** Cue text: one line per source line, no blank line (it would end the cue). */
function cueLines(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('\n');
}

const escapeVtt = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The name a segment is spoken by, as files show it: the deputy's name when known, else the source's. */
export type SpeakerLabel = (segment: TranscriptSegmentRecord) => string | null;
const defaultLabel: SpeakerLabel = (s) => s.speaker_name;

/**
 * WebVTT: one cue per segment, identified by its position, its text in a `<v Speaker>` voice span
 * when the speaker is known. Cue times never go backwards (segments are stored in order of start);
 * a cue whose end equals its start lasts one millisecond, as a cue must end after it starts.
 */
export function toWebVtt(segments: readonly TranscriptSegmentRecord[], options: { title?: string; label?: SpeakerLabel } = {}): string {
  const label = options.label ?? defaultLabel;
  const out: string[] = [options.title ? `WEBVTT - ${cueLines(options.title).replace(/\n/g, ' ').replace(/-->/g, '—')}` : 'WEBVTT', ''];
  for (const s of segments) {
    const end = Math.max(s.end_seconds, s.start_seconds + 0.001);
    const speaker = label(s);
    const text = escapeVtt(cueLines(s.text));
    out.push(String(s.position + 1), `${cueTimestamp(s.start_seconds)} --> ${cueTimestamp(end)}`);
    out.push(speaker ? `<v ${escapeVtt(speaker.replace(/\s+/g, ' ').trim())}>${text}` : text, '');
  }
  return out.join('\n');
}

/**
 * SRT: numbered cues. SRT has no voices: the speaker's name opens a cue's text (`Marie Curie : …`)
 * when the speaker changes from the previous cue.
 */
export function toSrt(segments: readonly TranscriptSegmentRecord[], options: { label?: SpeakerLabel } = {}): string {
  const label = options.label ?? defaultLabel;
  const out: string[] = [];
  let previous: string | null = null;
  segments.forEach((s, i) => {
    const end = Math.max(s.end_seconds, s.start_seconds + 0.001);
    const speaker = label(s);
    const text = cueLines(s.text);
    out.push(String(i + 1), `${cueTimestamp(s.start_seconds, ',')} --> ${cueTimestamp(end, ',')}`);
    out.push(speaker && speaker !== previous ? `${speaker} : ${text}` : text, '');
    previous = speaker;
  });
  return out.join('\n');
}

/**
 * Chapters from a transcript, one per speaker turn (consecutive segments of the same speaker make one
 * turn): what `/chapters` answers for a debate whose source gave a transcript but no timed outline.
 */
export function speakerTurns(segments: readonly TranscriptSegmentRecord[], label: SpeakerLabel = defaultLabel): DebateChapter[] {
  const out: DebateChapter[] = [];
  let current: { key: string; chapter: DebateChapter } | undefined;
  for (const s of segments) {
    const name = label(s);
    if (!name) {
      if (current) current.chapter.end_seconds = Math.max(current.chapter.end_seconds ?? 0, s.end_seconds);
      continue;
    }
    const key = s.deputy_id !== null ? `d${s.deputy_id}` : `n${name}`;
    if (current && current.key === key) {
      current.chapter.end_seconds = Math.max(current.chapter.end_seconds ?? 0, s.end_seconds);
      continue;
    }
    const chapter: DebateChapter = { title: name, start_seconds: s.start_seconds, end_seconds: s.end_seconds, speaker_name: name, kind: 'Intervention' };
    out.push(chapter);
    current = { key, chapter };
  }
  return out;
}

export interface PodcastChapter {
  startTime: number;
  endTime?: number;
  title?: string;
  toc?: boolean;
}

export interface PodcastChapters {
  version: string;
  title?: string;
  podcastName?: string;
  fileName?: string;
  chapters: PodcastChapter[];
}

/**
 * The Podcasting 2.0 JSON chapters file of a debate: its timed chapters in ascending `startTime`
 * (chapters without a time are left out: the format has no place for them); sub-chapters
 * (`level` > 0) are kept with `toc: false`, so apps list the top level only.
 */
export function toPodcastChapters(chapters: readonly DebateChapter[], meta: { title?: string; podcastName?: string; fileName?: string } = {}): PodcastChapters {
  const timed = chapters
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => typeof c.start_seconds === 'number' && Number.isFinite(c.start_seconds))
    .sort((a, b) => a.c.start_seconds! - b.c.start_seconds! || a.i - b.i)
    .map(({ c }) => {
      const out: PodcastChapter = { startTime: round3(c.start_seconds!), title: c.title };
      if (typeof c.end_seconds === 'number' && Number.isFinite(c.end_seconds) && c.end_seconds >= c.start_seconds!) out.endTime = round3(c.end_seconds);
      if (c.level != null && c.level > 0) out.toc = false;
      return out;
    });
  return {
    version: PODCAST_CHAPTERS_VERSION,
    ...(meta.title ? { title: meta.title } : {}),
    ...(meta.podcastName ? { podcastName: meta.podcastName } : {}),
    ...(meta.fileName ? { fileName: meta.fileName } : {}),
    chapters: timed,
  };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
