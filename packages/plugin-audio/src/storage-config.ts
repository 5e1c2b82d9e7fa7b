import { join } from 'node:path';
import { MIGRATED_MARKER, migratedMarker } from './migrate.ts';
import type { AudioOptions } from './options.ts';
import { S3AudioStorage, type S3StorageConfig } from './s3-storage.ts';
import { LocalAudioStorage, type AudioStorage } from './storage.ts';

/** The local library's folder: AUDIO_STORAGE_DIR, or DATA_DIR/audio. */
export const localAudioRoot = (o: AudioOptions, dataDir: string) => o.storageDir ?? join(dataDir, 'audio');

/** The S3 settings of the options (S3_*), whatever AUDIO_STORAGE says (`robian audio migrate --to s3` needs them). */
export function s3Config(o: AudioOptions, dataDir: string): S3StorageConfig {
  if (!o.s3Bucket) throw new Error('S3_BUCKET is not set: the S3 storage needs a bucket (see docs/configuration.md § Audio)');
  return {
    bucket: o.s3Bucket,
    endpoint: o.s3Endpoint,
    region: o.s3Region,
    forcePathStyle: o.s3ForcePathStyle,
    credentials: o.s3AccessKeyId && o.s3SecretAccessKey ? { accessKeyId: o.s3AccessKeyId, secretAccessKey: o.s3SecretAccessKey, sessionToken: o.s3SessionToken } : undefined,
    prefix: o.s3Prefix,
    // FFmpeg's output waits here for its upload: local, per machine, never shared
    tempDir: join(dataDir, 'tmp', 'audio'),
    partSizeBytes: o.s3PartSizeMb * 1024 * 1024,
    queueSize: o.s3UploadQueue,
    maxSockets: o.s3MaxSockets,
    presignTtlSeconds: o.s3PresignTtl,
    publicBaseUrl: o.publicBaseUrl,
  };
}

/**
 * The storage AUDIO_STORAGE selects. A local library that `robian audio migrate --to s3` moved is
 * refused: a host writing new renditions to its disk while the others read S3 would split it.
 */
export function createAudioStorage(o: AudioOptions, dataDir: string): AudioStorage {
  if (o.storage === 's3') return new S3AudioStorage(s3Config(o, dataDir));
  const root = localAudioRoot(o, dataDir);
  const moved = migratedMarker(root);
  if (moved) {
    throw new Error(
      `the audio library in ${root} was migrated to s3://${moved.bucket}/${moved.prefix} on ${moved.at}: set AUDIO_STORAGE=s3 (and the S3_* variables), or remove ${join(root, MIGRATED_MARKER)} to use the local copy again`,
    );
  }
  return new LocalAudioStorage(root);
}
