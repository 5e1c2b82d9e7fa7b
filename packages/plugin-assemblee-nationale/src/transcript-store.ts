import { listTranscripts, loadTranscript, replaceTranscript, type EntityManager, type PluginContext } from '@robian/core';
import type { SegmentInput, TranscriptWriter } from './enrich.ts';

const same = (a: number, b: number) => Math.abs(a - b) < 0.0005;

/**
 * The debate's transcripts through core's storage (`replaceTranscript`): a transcript identical to
 * the stored one (times, text, speaker) is not written again, so retries and second runs change nothing.
 */
export function coreTranscripts(ctx: PluginContext): TranscriptWriter {
  const em = () => ctx.orm.em.fork() as unknown as EntityManager;
  return {
    async sources(debateId) {
      return new Set((await listTranscripts(em(), debateId)).filter((t) => t.segments > 0).map((t) => t.source));
    },
    async replace(debateId, source, segments: SegmentInput[]) {
      const stored = await loadTranscript(em(), debateId, source);
      if (
        stored &&
        stored.source === source &&
        stored.segments.length === segments.length &&
        stored.segments.every((s, i) => {
          const n = segments[i]!;
          return same(s.start_seconds, n.start_seconds) && same(s.end_seconds, n.end_seconds) && s.text === n.text.trim() && (s.speaker_name ?? null) === (n.speaker_name?.trim() || null);
        })
      ) {
        return false;
      }
      await replaceTranscript(em(), debateId, source, segments, { events: ctx.events });
      return true;
    },
  };
}
