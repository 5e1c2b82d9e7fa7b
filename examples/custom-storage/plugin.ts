// A plugin that gives plugin-audio a storage of its own: it provides the `audio.storage` service in
// setup, and plugin-audio uses it at start instead of the one AUDIO_STORAGE selects.
import { join } from 'node:path';
import { PLUGIN_API_VERSION, definePlugin, z } from '@robian/core';
import '@robian/plugin-audio'; // the `audio.storage` service's type
import { MirroredAudioStorage } from './mirrored-storage.ts';

export const mirroredStoragePlugin = definePlugin({
  name: 'mirrored-storage',
  version: '1.0.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Audio renditions kept on two disks',
  options: z.object({
    /** Default: DATA_DIR/audio. */
    primaryDir: z.string().min(1).optional(),
    replicaDir: z.string().min(1),
  }),
  env: { primaryDir: 'MIRROR_PRIMARY_DIR', replicaDir: 'MIRROR_REPLICA_DIR' },
  setup(ctx) {
    const storage = new MirroredAudioStorage(ctx.options.primaryDir ?? join(ctx.config.dataDir, 'audio'), ctx.options.replicaDir);
    ctx.services.provide('audio.storage', storage);
    ctx.router.route({
      method: 'post',
      path: '/api/storage/repair',
      operationId: 'repairMirroredStorage',
      summary: 'Copy back the renditions one disk lacks',
      tags: ['storage'],
      auth: 'admin',
      responses: { 200: { description: 'What was copied', schema: z.object({ copied: z.array(z.string()) }) } },
      handler: async () => ({ copied: await storage.repair() }),
    });
    return { health: () => ({ status: 'ok', fallbacks: storage.fallbacks }) };
  },
});

export { MirroredAudioStorage } from './mirrored-storage.ts';
