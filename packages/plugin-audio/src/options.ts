import { option, z } from '@robian/core';

const { bool, int } = option;
const list = option.list(
  z.string().regex(/^(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(:(\d{1,5}|\*))?$/i, 'expected host names such as videos.assemblee-nationale.fr, *.example.org, media.example.org:8443 or 127.0.0.1:* (no port: 80 and 443 only)'),
);

const storageUrl = z.string().refine((v) => {
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'expected an http(s) URL such as http://127.0.0.1:9000');

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
  /** While ffmpeg, ffprobe or yt-dlp is missing, look for it again at most this often (doubled after each miss). */
  binariesRecheckSeconds: int(10, 0, 3600),
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
  /** Where renditions live: `local` (storageDir) or `s3` (an S3-compatible bucket, s3-storage.ts). */
  storage: z.enum(['local', 's3']).default('local'),
  /** How /audio and /download hand out bytes kept in S3: `proxy` (Robian streams them) or `redirect` (302 to a presigned URL). */
  delivery: z.enum(['proxy', 'redirect']).default('proxy'),
  /** A CDN (or public bucket) URL the redirect mode points /audio at instead of a presigned URL: `<base>/<prefix><key>`. */
  publicBaseUrl: storageUrl.optional(),
  s3Bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3–63 lower-case letters, digits, dots, dashes)').optional(),
  /** An S3-compatible server (MinIO, Ceph RGW, Garage, R2…); unset for AWS S3. */
  s3Endpoint: storageUrl.optional(),
  s3Region: z.string().regex(/^[a-z0-9-]{1,32}$/, 'expected a region name such as eu-west-3').default('us-east-1'),
  /** Path-style addressing (`endpoint/bucket/key`); unset: on with S3_ENDPOINT, off for AWS (virtual-host `bucket.endpoint/key`). */
  s3ForcePathStyle: bool(false).optional(),
  /** Static credentials; unset: the SDK's chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, web identity, instance role). */
  s3AccessKeyId: z.string().min(1).optional(),
  s3SecretAccessKey: z.string().min(1).optional(),
  s3SessionToken: z.string().min(1).optional(),
  /** Prepended to every key (`robian/` → `robian/42/mp3-128k.mp3`), so one bucket may hold other things. */
  s3Prefix: z.string().regex(/^([a-z0-9._-]+\/)*$/i, 'expected folders ending in a slash, such as robian/audio/').default(''),
  /** Life of the presigned GET URLs of the redirect mode, in seconds (a player keeps reading from the URL it was sent to). */
  s3PresignTtl: int(3600, 30, 7 * 86400),
  /** Multipart upload: part size (MiB, at least S3's 5) and parts in flight; memory per upload = both multiplied. */
  s3PartSizeMb: int(8, 5, 512),
  s3UploadQueue: int(4, 1, 32),
  /** `robian audio cleanup` aborts Robian's multipart uploads started longer ago than this (hours; 0: never). */
  s3AbortUploadsAfterHours: int(24, 0, 8760),
  /** Sockets kept open to the S3 server (proxy mode: one per range being served). */
  s3MaxSockets: int(1024, 1, 65536),
  /** A live relay stops this long after its last listener left (seconds). */
  liveRelayGraceSeconds: int(30, 0, 3600),
  /** The relay's DVR window: how far back a listener can go (seconds). */
  liveRelayDvrSeconds: int(900, 10, 4 * 3600),
  /** Length of the relay's HLS segments (seconds). */
  liveRelaySegmentSeconds: int(4, 1, 30),
  /** Live streams relayed at once by this instance (one FFmpeg each). */
  liveRelayMaxStreams: int(8, 1, 256),
}).superRefine((o, ctx) => {
  if (o.storage !== 's3') return;
  if (!o.s3Bucket) ctx.addIssue({ code: 'custom', path: ['s3Bucket'], message: 'S3_BUCKET is required when AUDIO_STORAGE=s3' });
  if (Boolean(o.s3AccessKeyId) !== Boolean(o.s3SecretAccessKey)) ctx.addIssue({ code: 'custom', path: ['s3SecretAccessKey'], message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together (or leave both unset for the SDK credential chain)' });
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
  binariesRecheckSeconds: 'BINARIES_RECHECK_SECONDS',
  storageDir: 'AUDIO_STORAGE_DIR',
  workers: 'AUDIO_WORKERS',
  maxAttempts: 'EXTRACTION_MAX_ATTEMPTS',
  retryBaseMs: 'EXTRACTION_RETRY_BASE_MS',
  leaseSeconds: 'EXTRACTION_LEASE_SECONDS',
  pollIntervalMs: 'EXTRACTION_POLL_INTERVAL_MS',
  progressIntervalMs: 'EXTRACTION_PROGRESS_INTERVAL_MS',
  cleanupTtlDays: 'AUDIO_CLEANUP_TTL_DAYS',
  storage: 'AUDIO_STORAGE',
  delivery: 'AUDIO_DELIVERY',
  publicBaseUrl: 'AUDIO_PUBLIC_BASE_URL',
  s3Bucket: 'S3_BUCKET',
  s3Endpoint: 'S3_ENDPOINT',
  s3Region: 'S3_REGION',
  s3ForcePathStyle: 'S3_FORCE_PATH_STYLE',
  s3AccessKeyId: 'S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'S3_SECRET_ACCESS_KEY',
  s3SessionToken: 'S3_SESSION_TOKEN',
  s3Prefix: 'S3_PREFIX',
  s3PresignTtl: 'S3_PRESIGN_TTL',
  s3PartSizeMb: 'S3_PART_SIZE_MB',
  s3UploadQueue: 'S3_UPLOAD_QUEUE',
  s3AbortUploadsAfterHours: 'S3_ABORT_UPLOADS_AFTER_HOURS',
  s3MaxSockets: 'S3_MAX_SOCKETS',
  liveRelayGraceSeconds: 'LIVE_RELAY_GRACE_SECONDS',
  liveRelayDvrSeconds: 'LIVE_RELAY_DVR_SECONDS',
  liveRelaySegmentSeconds: 'LIVE_RELAY_SEGMENT_SECONDS',
  liveRelayMaxStreams: 'LIVE_RELAY_MAX_STREAMS',
} as const;
