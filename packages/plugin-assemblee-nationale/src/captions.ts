import { decodeText } from './fetcher.ts';

/** A cue of an SRT file, times in seconds into the recording. */
export interface Cue {
  start: number;
  end: number;
  text: string;
}

const TIME = /(\d{1,3}):(\d{2}):(\d{2})[,.](\d{1,3})/;

function seconds(m: RegExpExecArray): number {
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]!.padEnd(3, '0')) / 1000;
}

/**
 * Reads SRT captions: UTF-8 (BOM or not) or Latin-1 (the AN's), LF or CRLF, numbered or not; a
 * last cue without text (a truncated file) and cues without a valid timing are dropped.
 */
export function parseSrt(body: string | Buffer): Cue[] {
  const text = (typeof body === 'string' ? body : decodeText(body)).replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const cues: Cue[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n');
    const at = lines.findIndex((l) => l.includes('-->'));
    if (at < 0) continue;
    const [from, to] = lines[at]!.split('-->');
    const a = TIME.exec(from ?? '');
    const b = TIME.exec(to ?? '');
    if (!a || !b) continue;
    const cueText = lines
      .slice(at + 1)
      .map((l) => l.replace(/<[^>]+>/g, '').trim())
      .filter(Boolean)
      .join(' ');
    if (!cueText) continue;
    const start = seconds(a);
    const end = Math.max(start, seconds(b));
    cues.push({ start, end, text: cueText });
  }
  return cues;
}
