import { option, z } from '@robian/core';

const { bool, int } = option;
const list = option.list(
  z.string().regex(/^(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(:(\d{1,5}|\*))?$/i, 'expected host names such as videos.assemblee-nationale.fr, *.example.org, media.example.org:8443 or 127.0.0.1:* (no port: 80 and 443 only)'),
);

export const audioOptions = z.object({
  /** Hosts that may be fetched besides the registered sources' `mediaHosts` (MEDIA_ALLOWED_HOSTS); `host` = ports 80/443, `host:port`, `host:*`. */
  allowedHosts: list,
  /** Renditions anonymous and listener callers may queue (PUBLIC_RENDITIONS, `mp3/192k,aac/source`); empty = the default rendition, the AAC master and mp3/192k. */
  publicRenditions: option.list(z.string().regex(/^[a-z0-9]+(\/[a-z0-9]+)?$/i, 'expected format/quality such as mp3/192k')),
  /** Refuse unsigned audio and download URLs (REQUIRE_SIGNED_URLS). */
  requireSignedUrls: bool(false),
  /** Lifetime of the signed URLs handed out by /streaming, in seconds. */
  signedUrlTtl: int(6 * 3600, 60, 30 * 86400),
  ffmpegPath: z.string().optional(),
  ffprobePath: z.string().optional(),
  ytdlpPath: z.string().optional(),
  /** Where renditions are stored (default DATA_DIR/audio). */
  storageDir: z.string().optional(),
  /** Run extraction workers in this process (false for CLI commands and API-only instances). */
  workers: bool(true),
  /** Attempts before a job fails for good. */
  maxAttempts: int(3, 1, 20),
  /** First retry delay; doubled at each attempt. */
  retryBaseMs: int(5000, 0, 3_600_000),
  /** A running job's lease; a job whose worker stopped renewing it is queued again after this. */
  leaseSeconds: int(30, 1, 3600),
  pollIntervalMs: int(1000, 20, 60_000),
  progressIntervalMs: int(500, 0, 60_000),
  /** `robian audio cleanup`: renditions not played for this many days are removed (0 keeps them). */
  cleanupTtlDays: int(30, 0, 3650),
});

export type AudioOptions = z.output<typeof audioOptions>;

export const audioEnv = {
  allowedHosts: 'MEDIA_ALLOWED_HOSTS',
  publicRenditions: 'PUBLIC_RENDITIONS',
  requireSignedUrls: 'REQUIRE_SIGNED_URLS',
  signedUrlTtl: 'SIGNED_URL_TTL',
  ffmpegPath: 'FFMPEG_PATH',
  ffprobePath: 'FFPROBE_PATH',
  ytdlpPath: 'YTDLP_PATH',
  storageDir: 'AUDIO_STORAGE_DIR',
  workers: 'AUDIO_WORKERS',
  maxAttempts: 'EXTRACTION_MAX_ATTEMPTS',
  retryBaseMs: 'EXTRACTION_RETRY_BASE_MS',
  leaseSeconds: 'EXTRACTION_LEASE_SECONDS',
  pollIntervalMs: 'EXTRACTION_POLL_INTERVAL_MS',
  progressIntervalMs: 'EXTRACTION_PROGRESS_INTERVAL_MS',
  cleanupTtlDays: 'AUDIO_CLEANUP_TTL_DAYS',
} as const;
