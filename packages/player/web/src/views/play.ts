import type { Services } from '../app.tsx';
import type { Debate } from '../api.ts';

/** Plays a debate's audio (the default rendition, or the live relay) from `at` seconds or its saved position. */
export async function playDebate({ api, player }: Services, id: string, at?: number, known?: Debate): Promise<boolean> {
  const debate = known ?? (await api.debate(id));
  if (debate.is_live) {
    const s = await api.streaming(id).catch(() => null);
    await player.load(debate, s?.live_url ?? `/api/debats/${encodeURIComponent(id)}/live`, { live: true });
    return true;
  }
  const streaming = await api.streaming(id);
  if (!streaming.audio_available || !streaming.stream_url) return false;
  await player.load(debate, streaming.stream_url, at === undefined ? {} : { at });
  return true;
}
