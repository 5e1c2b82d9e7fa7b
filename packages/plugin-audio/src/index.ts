import { PLUGIN_API_VERSION, definePlugin } from '@robian/core';
import type { Binaries } from './binaries.ts';
import { audioEntities } from './entities.ts';
import { Extractions } from './extractions.ts';
import { LiveRelay } from './live-relay.ts';
import type { JobStore } from './jobs.ts';
import { audioMigrations } from './migrations.ts';
import { audioEnv, audioOptions } from './options.ts';
import { Playback } from './playback.ts';
import { AudioRuntime } from './runtime.ts';
import type { MigrationReport } from './migrate.ts';
import type { AudioLibrary, CleanupReport } from './service.ts';
import type { AudioStorage } from './storage.ts';
import { Streaming } from './streaming.ts';

export * from './allow-list.ts';
export * from './binaries.ts';
export * from './egress.ts';
export * from './entities.ts';
export * from './extractions.ts';
export * from './jobs.ts';
export * from './migrate.ts';
export * from './live-relay.ts';
export * from './migrations.ts';
export * from './options.ts';
export * from './pipeline.ts';
export * from './playback.ts';
export * from './policy.ts';
export * from './process-ledger.ts';
export * from './redirect.ts';
export * from './renditions.ts';
export * from './runtime.ts';
export * from './s3-storage.ts';
export { staleUploadsOf } from './s3-stale-uploads.ts';
export * from './scheduler.ts';
export * from './serve.ts';
export * from './service.ts';
export * from './signing.ts';
export * from './storage-config.ts';
export * from './storage.ts';
export * from './streaming.ts';
export * from './wire.ts';

export const AUDIO_PLUGIN = 'audio';

/** What the plugin offers other plugins and the CLI (`ctx.services.get('audio')`). */
export interface AudioService {
  storage: AudioStorage;
  jobs: JobStore;
  library: AudioLibrary;
  binaries(): Binaries;
  allowedHosts(): string[];
  cleanup(o?: { ttlDays?: number; dryRun?: boolean }): Promise<CleanupReport>;
  /** `robian audio migrate --to s3`: the local library to the S3_* bucket, verified, then the switch marker (migrate.ts). */
  migrate(onFile?: (key: string, outcome: 'copied' | 'skipped' | 'failed') => void): Promise<MigrationReport>;
}

declare module '@robian/core' {
  interface RobianServices {
    audio: AudioService;
    /**
     * A storage of another plugin's (provided in its setup): used instead of the one AUDIO_STORAGE
     * selects. See examples/custom-storage.
     */
    'audio.storage': AudioStorage;
  }
}

/**
 * Extracts debates' audio (FFmpeg, durable jobs), stores it and streams it. `setup` wires the
 * instance's runtime and the domain classes that own their routes; it returns the runtime's
 * lifecycle (plugin API v2), so nothing is kept at module level.
 */
export const audioPlugin = definePlugin({
  name: AUDIO_PLUGIN,
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Extracts debates’ audio (FFmpeg, durable jobs), stores it and streams it with ranges and signed URLs',
  options: audioOptions,
  env: audioEnv,
  entities: audioEntities,
  migrations: audioMigrations,
  setup(ctx) {
    const audio = new AudioRuntime(ctx);
    const live = new LiveRelay(audio);
    live.register();
    new Streaming(audio, live).register();
    new Extractions(audio).register();
    new Playback(audio).register();
    return {
      start: () => audio.start(),
      stop: async () => {
        await live.stop();
        await audio.stop();
      },
      health: async () => ({ ...(await audio.health()), live_relays: live.status() }),
    };
  },
});
