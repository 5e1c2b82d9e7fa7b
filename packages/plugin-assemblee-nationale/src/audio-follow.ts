import type { PluginContext } from '@robian/core';
import type { ExtractQueue } from './enrich.ts';

/** The part of plugin-audio's `audio` service used here (structural: this package does not depend on plugin-audio). */
interface AudioServiceLike {
  jobs: { enqueue(debateId: number, r: { format: string; quality: string }, priority: number, stored: boolean): Promise<{ job: { id: number; status: string }; created: boolean }> };
  library: { file(debateId: number, r: { format: string; quality: string }): Promise<{ storageKey: string } | null> };
  storage: { stat(key: string): Promise<unknown> };
}

const MP3_BITRATES = ['64k', '96k', '128k', '192k', '256k', '320k'];

/** The rendition AUTO_EXTRACT names: `default` is AUDIO_FORMAT at AUDIO_BITRATE (as plugin-audio's default rendition). */
export function autoRendition(setting: string, config: PluginContext['config']): { format: string; quality: string } | undefined {
  if (setting === 'off') return undefined;
  if (setting !== 'default') {
    const [format, quality] = setting.split('/') as [string, string];
    return { format, quality };
  }
  const format = config.audioFormat;
  const quality = format === 'mp3' ? (MP3_BITRATES.includes(config.audioBitrate) ? config.audioBitrate : '128k') : format === 'aac' ? 'source' : format === 'opus' ? '32k' : 'pcm';
  return { format, quality };
}

/**
 * Queues the extraction of a newly linked debate through plugin-audio's service (low priority:
 * listeners' own requests go first). The pipeline picks the published MP3 first, as for any request.
 */
export function audioFollower(ctx: PluginContext, setting: string): () => ExtractQueue | undefined {
  return () => {
    const rendition = autoRendition(setting, ctx.config);
    const audio = (ctx.services as unknown as { maybe(name: string): unknown }).maybe('audio') as AudioServiceLike | undefined;
    if (!rendition || !audio) return undefined;
    return async (debateId) => {
      const file = await audio.library.file(debateId, rendition);
      const stored = file ? Boolean(await audio.storage.stat(file.storageKey)) : false;
      const { job, created } = await audio.jobs.enqueue(debateId, rendition, 0, stored);
      return `${rendition.format}/${rendition.quality} ${stored ? 'already available' : created ? `queued (job ${job.id})` : `already ${job.status} (job ${job.id})`}`;
    };
  };
}
