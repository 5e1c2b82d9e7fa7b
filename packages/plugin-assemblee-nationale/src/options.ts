import { option, z } from '@robian/core';

const { bool, int } = option;

const baseUrl = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash && !u.username;
      } catch {
        return false;
      }
    }, 'expected an http(s) base URL without query, fragment or credentials')
    .transform((v) => (v.endsWith('/') ? v : `${v}/`));

/** The published hosts, as the AN pages name them. Mirrors replace them through the options below. */
export const DEFAULT_BASES = {
  videosBaseUrl: 'https://videos.assemblee-nationale.fr/',
  hlsBaseUrl: 'http://videos-an.vodalys.com/',
  originBaseUrl: 'http://anorigin.vodalys.com/',
  openDataBaseUrl: 'https://data.assemblee-nationale.fr/',
  siteBaseUrl: 'https://www.assemblee-nationale.fr/',
} as const;

/** The datasets the scheduler refreshes daily, relative to the open-data base (organes and acteurs first, then the agenda). */
export const DEFAULT_OPEN_DATA_PATHS = [
  'static/openData/repository/17/amo/deputes_actifs_mandats_actifs_organes/AMO10_deputes_actifs_mandats_actifs_organes.json.zip',
  'static/openData/repository/17/vp/reunions/Agenda.json.zip',
] as const;

export const optionsSchema = z.object({
  /** The video site: pages `video.<uid>…` and `Datas/an/<uid>/content/data.nvs`. */
  videosBaseUrl: baseUrl(DEFAULT_BASES.videosBaseUrl),
  /** The HLS server (config_json `vod_url`). */
  hlsBaseUrl: baseUrl(DEFAULT_BASES.hlsBaseUrl),
  /** The origin serving the MP4 and MP3 files (config_json `download_url`, `og:video`). */
  originBaseUrl: baseUrl(DEFAULT_BASES.originBaseUrl),
  /** Where `robian import assemblee <url>` may download the open-data zips from. */
  openDataBaseUrl: baseUrl(DEFAULT_BASES.openDataBaseUrl),
  /** The parliament's site: comptes rendus (`dyn/opendata/<uid>.xml`). */
  siteBaseUrl: baseUrl(DEFAULT_BASES.siteBaseUrl),
  /** The datasets the scheduler imports daily (paths relative to openDataBaseUrl, or URLs on it), in order. */
  openDataUrls: option.list(z.string().trim().min(1).max(2048)).transform((v) => (v.length ? v : [...DEFAULT_OPEN_DATA_PATHS])),
  /** The scheduler (agenda, videos, live, transcripts) in `robian serve`; false (`off`) disables it. */
  schedule: bool(true),
  /** Seconds between open-data refreshes (conditional GET: an unchanged dataset costs one request). */
  openDataIntervalSeconds: int(86_400, 60, 30 * 86_400),
  /** Seconds between looks at the platform's latest videos. */
  videosIntervalSeconds: int(300, 1, 86_400),
  /** Seconds between polls of the live sittings. */
  liveIntervalSeconds: int(30, 1, 3600),
  /** Seconds between retries of linked sittings still without transcript or times. */
  transcriptsIntervalSeconds: int(3600, 1, 7 * 86_400),
  /** Days a linked sitting without transcript is retried (the AN often publishes it a day later). */
  transcriptRetryDays: int(7, 0, 365),
  /** Days the video discovery reads day by day (catch-up after a pause), today included. */
  catchUpDays: int(3, 0, 60),
  /** Videos linked per discovery run at most (the rest waits for the next run). */
  maxVideosPerRun: int(200, 1, 10_000),
  /** A scheduled task's lease: another instance takes the task over this long after its holder died. */
  scheduleLeaseSeconds: int(60, 1, 3600),
  /** How often each instance looks for due tasks (ms). */
  scheduleTickMs: int(1000, 20, 60_000),
  /** Chapters whose synchro and compte-rendu offsets differ by more than this are reported (seconds). */
  chapterToleranceSeconds: int(5, 0, 3600),
  /** Rendition queued for each newly linked video: `default` (AUDIO_FORMAT/AUDIO_BITRATE), `off`, or `format/quality` (e.g. `mp3/128k`). */
  autoExtract: z
    .string()
    .trim()
    .default('default')
    .refine((v) => v === 'default' || v === 'off' || /^[a-z0-9]{2,8}\/[a-z0-9]{1,16}$/.test(v), 'expected default, off or format/quality (e.g. mp3/128k)'),
  /** Requests in flight at once to one of the parliament's hosts. */
  maxRequestsPerHost: int(1, 1, 16),
  /** Requests in flight at once to the parliament's hosts. */
  maxConcurrentRequests: z.coerce.number().int().min(1).max(16).default(2),
  /** Retries after a 429, a 5xx or a network error. */
  maxRetries: z.coerce.number().int().min(0).max(10).default(4),
  /** First backoff delay (doubles each retry, with jitter). */
  retryBaseMs: z.coerce.number().int().min(1).max(60_000).default(1000),
  /** Longest `Retry-After` honoured; a longer one fails the request. */
  maxRetryAfterSeconds: z.coerce.number().int().min(0).max(3600).default(120),
  /** Timeout of one page or NVS request. */
  requestTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(20_000),
  /** Timeout of an open-data download. */
  downloadTimeoutMs: z.coerce.number().int().min(1000).max(24 * 3600_000).default(30 * 60_000),
  /** Largest open-data download accepted (bytes). */
  maxDownloadBytes: z.coerce.number().int().min(1024).max(64 * 1024 ** 3).default(2 * 1024 ** 3),
  /** Largest JSON file parsed whole, and largest single record of a streamed document (bytes). */
  maxFileBytes: z.coerce.number().int().min(1024).max(4 * 1024 ** 3).default(256 * 1024 ** 2),
  /** Files and zip entries larger than this are read as a stream, one record at a time (bytes). */
  streamThresholdBytes: z.coerce.number().int().min(0).max(4 * 1024 ** 3).default(16 * 1024 ** 2),
  /** How long a fetched page or NVS stays in the cache (seconds). */
  pageCacheTtlSeconds: z.coerce.number().int().min(0).max(30 * 24 * 3600).default(6 * 3600),
  /** Records written per transaction during an import. */
  batchSize: z.coerce.number().int().min(1).max(5000).default(200),
  /** The User-Agent of every request. */
  userAgent: z.string().trim().min(1).max(200).default('Robian (+https://github.com/robian; open-data importer)'),
});

export type AssembleeOptions = z.output<typeof optionsSchema>;

/** The environment variables that fill the options. */
export const optionsEnv = {
  videosBaseUrl: 'AN_VIDEOS_BASE_URL',
  hlsBaseUrl: 'AN_VODALYS_HLS_BASE_URL',
  originBaseUrl: 'AN_VODALYS_ORIGIN_BASE_URL',
  openDataBaseUrl: 'AN_OPEN_DATA_BASE_URL',
  maxConcurrentRequests: 'AN_MAX_CONCURRENT_REQUESTS',
  maxRetries: 'AN_MAX_RETRIES',
  requestTimeoutMs: 'AN_REQUEST_TIMEOUT_MS',
  maxDownloadBytes: 'AN_MAX_DOWNLOAD_BYTES',
  pageCacheTtlSeconds: 'AN_PAGE_CACHE_TTL',
  batchSize: 'AN_IMPORT_BATCH_SIZE',
  streamThresholdBytes: 'AN_STREAM_THRESHOLD_BYTES',
  siteBaseUrl: 'AN_SITE_BASE_URL',
  openDataUrls: 'AN_OPEN_DATA_URLS',
  schedule: 'AN_SCHEDULE',
  openDataIntervalSeconds: 'AN_OPEN_DATA_INTERVAL',
  videosIntervalSeconds: 'AN_VIDEOS_INTERVAL',
  liveIntervalSeconds: 'AN_LIVE_INTERVAL',
  transcriptsIntervalSeconds: 'AN_TRANSCRIPTS_INTERVAL',
  transcriptRetryDays: 'AN_TRANSCRIPT_RETRY_DAYS',
  catchUpDays: 'AN_CATCHUP_DAYS',
  maxVideosPerRun: 'AN_MAX_VIDEOS_PER_RUN',
  scheduleLeaseSeconds: 'AN_SCHEDULE_LEASE_SECONDS',
  scheduleTickMs: 'AN_SCHEDULE_TICK_MS',
  chapterToleranceSeconds: 'AN_CHAPTER_TOLERANCE_SECONDS',
  autoExtract: 'AUTO_EXTRACT',
  maxRequestsPerHost: 'AN_MAX_REQUESTS_PER_HOST',
} as const;

/**
 * The hosts the plugin fetches media and pages from (the DebateSource's `mediaHosts`), from the base
 * URLs: the name, with the port when it is not the scheme's default (the allow-list compares both).
 */
export function hostsOf(options: Pick<AssembleeOptions, 'videosBaseUrl' | 'hlsBaseUrl' | 'originBaseUrl'>): string[] {
  return [...new Set([options.videosBaseUrl, options.hlsBaseUrl, options.originBaseUrl].map((u) => new URL(u).host.toLowerCase()))];
}

/** host:port pairs (exact) the fetcher accepts, from the base URLs. */
export function originsOf(urls: string[]): Set<string> {
  return new Set(urls.map((u) => new URL(u).host.toLowerCase()));
}
