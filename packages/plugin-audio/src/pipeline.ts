import { rm } from 'node:fs/promises';
import type { MediaCandidate, SourceRegistry } from '@robian/core';
import type { HostAllowList } from './allow-list.ts';
import type { Binaries } from './binaries.ts';
import { egressEnv } from './egress.ts';
import type { ProcessLedger } from './process-ledger.ts';
import { run } from './process.ts';
import { MASTER, isMaster, outputArgs, storageKey, type Rendition } from './renditions.ts';
import type { AudioStorage, StoredFile } from './storage.ts';

/** An extraction failure. `permanent` ones (404, not media, disallowed host) are not retried. */
export class ExtractionError extends Error {
  readonly permanent: boolean;
  constructor(message: string, permanent = false) {
    super(message);
    this.name = 'ExtractionError';
    this.permanent = permanent;
  }
}

const DIRECT_MEDIA = /\.(m3u8|mp3|mp4|m4a|aac|ogg|opus|oga|wav|webm|mkv|ts|flac)$/i;

export function isDirectMedia(url: URL): boolean {
  return DIRECT_MEDIA.test(url.pathname);
}

export interface Probe {
  durationSeconds: number | undefined;
  audioCodec: string | undefined;
}

const isRemote = (input: string) => /^https?:\/\//i.test(input);
/** Network inputs: give up on a silent server after 30 s instead of hanging until the job timeout. */
/** Remote inputs may only use network protocols: a playlist cannot make FFmpeg read local files. */
const REMOTE_PROTOCOLS = ['-protocol_whitelist', 'http,https,tcp,tls,crypto,httpproxy'];
/** Remote inputs go through Robian's egress proxy (egress.ts): every request, redirects and HLS segments included, is checked there. */
const remoteArgs = (proxy: string) => [...REMOTE_PROTOCOLS, '-http_proxy', proxy, '-rw_timeout', '30000000'];

const failureText = (what: string, tail: string[]) => `${what}${tail.length ? `: ${tail.slice(-6).join(' | ')}` : ''}`;

/** Errors in FFmpeg's / yt-dlp's words that no retry will fix. */
const PERMANENT = /404 Not Found|403 Forbidden|robian egress proxy|410 Gone|Invalid data found|Unsupported URL|does not contain any stream|matches no streams|Stream map .* matches no|no audio|Unable to extract|not allowed/i;

export interface ExtractOptions {
  debateId: number;
  videoUrl: string;
  rendition: Rendition;
  signal: AbortSignal;
  /** 0–100 for this job. */
  onProgress(percent: number): void;
  /** Another rendition (the master) was produced on the way. */
  onRendition(rendition: Rendition, file: StoredFile, durationSeconds: number | undefined, copied: boolean): Promise<void>;
  /** The master's duration when it is already known (its row): saves probing it again. */
  masterDurationSeconds?: number | undefined;
}

export interface ExtractResult {
  file: StoredFile;
  durationSeconds: number | undefined;
  /** True when the audio was stream-copied (no re-encode). */
  copied: boolean;
  /** What FFmpeg read: the URL or the local master. */
  input: string;
}

/**
 * Turns a debate's video URL into a rendition on storage: resolution (source plugin, direct
 * media, or yt-dlp), the AAC master by stream copy when the source is AAC, the other renditions
 * derived from the master, temp file + rename.
 */
export class Extractor {
  readonly #binaries: () => Binaries;
  readonly storage: AudioStorage;
  readonly sources: SourceRegistry;
  readonly allowList: () => HostAllowList;
  readonly threads: number;
  /** The egress proxy's URL (`MediaEgressProxy.url`); remote media is never fetched without it. */
  readonly egress: () => string | undefined;
  /** Life of the presigned URL FFmpeg reads a master on object storage from (the job's timeout and more). */
  readonly inputTtlSeconds: number;
  /** Where the FFmpeg, ffprobe and yt-dlp it runs and their temp files are recorded (process-ledger.ts). */
  readonly ledger: ProcessLedger | undefined;

  constructor(o: { binaries: Binaries | (() => Binaries); storage: AudioStorage; sources: SourceRegistry; allowList: () => HostAllowList; threads: number; egress: () => string | undefined; inputTtlSeconds?: number; ledger?: ProcessLedger }) {
    this.ledger = o.ledger;
    this.egress = o.egress;
    this.inputTtlSeconds = o.inputTtlSeconds ?? 6 * 3600;
    const b = o.binaries;
    this.#binaries = typeof b === 'function' ? b : () => b;
    this.storage = o.storage;
    this.sources = o.sources;
    this.allowList = o.allowList;
    this.threads = o.threads;
  }

  /** The binaries as last found (BinaryLocator: they may appear after the start). */
  get binaries(): Binaries {
    return this.#binaries();
  }

  get ffmpeg(): string {
    if (!this.binaries.ffmpeg.path) throw new ExtractionError(`ffmpeg is not available (${this.binaries.ffmpeg.error ?? 'not found'})`);
    return this.binaries.ffmpeg.path;
  }

  /** FFmpeg's input arguments for a path or URL (remote: through the egress proxy). */
  inputArgs(input: string): string[] {
    return isRemote(input) ? [...remoteArgs(this.proxy()), '-i', input] : ['-i', input];
  }

  proxy(): string {
    const url = this.egress();
    if (!url) throw new ExtractionError('the media egress proxy is not running: remote media is not fetched without it');
    return url;
  }

  checkHost(url: URL, what: string): void {
    if (!['http:', 'https:'].includes(url.protocol)) throw new ExtractionError(`${what} ${url.protocol}// URLs are not fetched`, true);
    if (!this.allowList().allows(url)) throw new ExtractionError(`${what} host "${url.host}" is not in MEDIA_ALLOWED_HOSTS (host and port)`, true);
  }

  /** The media inputs for a page or media URL, cheapest for the rendition first. */
  async resolve(videoUrl: string, rendition: Rendition, signal: AbortSignal): Promise<MediaCandidate[]> {
    let url: URL;
    try {
      url = new URL(videoUrl);
    } catch {
      throw new ExtractionError(`the debate's video_url is not a URL: "${videoUrl.slice(0, 200)}"`, true);
    }
    this.checkHost(url, 'video_url');
    const source = this.sources.forUrl(url);
    let candidates: MediaCandidate[];
    if (source) {
      let resolved;
      try {
        resolved = await source.resolve(url, { signal });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new ExtractionError(`source "${source.id}" could not resolve ${url.href}: ${(err as Error).message}`);
      }
      candidates = resolved.candidates;
      if (candidates.length === 0) throw new ExtractionError(`source "${source.id}" found no media for ${url.href}`, true);
    } else if (isDirectMedia(url)) {
      candidates = [{ url: url.href, kind: /\.m3u8$/i.test(url.pathname) ? 'hls' : 'other' }];
    } else {
      candidates = [await this.ytdlp(url, signal)];
    }
    for (const c of candidates) this.checkHost(new URL(c.url), 'media');
    return rankCandidates(candidates, rendition);
  }

  /** yt-dlp's generic extractor, for pages no source plugin knows. */
  async ytdlp(url: URL, signal: AbortSignal): Promise<MediaCandidate> {
    const bin = this.binaries.ytdlp.path;
    if (!bin) throw new ExtractionError(`no source plugin resolves ${url.hostname} pages and yt-dlp is not available`, true);
    const proxy = this.proxy();
    const r = await run(bin, ['--dump-single-json', '--no-playlist', '--no-warnings', '--no-progress', '--ignore-config', '--proxy', proxy, '--socket-timeout', '30', '-f', 'bestaudio/best', '--', url.href], {
      signal,
      captureStdout: true,
      env: egressEnv(proxy),
      ledger: this.ledger,
    });
    if (r.code !== 0) throw new ExtractionError(failureText(`yt-dlp could not resolve ${url.href}`, r.stderrTail), PERMANENT.test(r.stderrTail.join('\n')));
    let info: { url?: string; acodec?: string; abr?: number; protocol?: string; ext?: string };
    try {
      info = JSON.parse(r.stdout) as typeof info;
    } catch {
      throw new ExtractionError(`yt-dlp gave no JSON for ${url.href}`);
    }
    if (!info.url) throw new ExtractionError(`yt-dlp found no media URL in ${url.href}`, true);
    const kind: MediaCandidate['kind'] = info.protocol?.startsWith('m3u8') ? 'hls' : info.ext === 'mp3' ? 'mp3' : info.ext === 'mp4' ? 'mp4' : info.ext === 'm4a' ? 'm4a' : 'other';
    return { url: info.url, kind, ...(info.acodec && info.acodec !== 'none' ? { audioCodec: info.acodec.split('.')[0]! } : {}), ...(info.abr ? { audioBitrate: info.abr } : {}) };
  }

  async probe(input: string, signal: AbortSignal): Promise<Probe> {
    const bin = this.binaries.ffprobe.path;
    if (!bin) throw new ExtractionError(`ffprobe is not available (${this.binaries.ffprobe.error ?? 'not found'})`);
    const remote = isRemote(input);
    const args = ['-v', 'error', ...(remote ? remoteArgs(this.proxy()) : []), '-select_streams', 'a:0', '-show_entries', 'stream=codec_name:format=duration', '-of', 'json', input];
    const r = await run(bin, args, { signal, captureStdout: true, ledger: this.ledger, ...(remote ? { env: egressEnv(this.proxy()) } : {}) });
    if (r.code !== 0) throw new ExtractionError(failureText(`ffprobe could not read ${input}`, r.stderrTail), PERMANENT.test(r.stderrTail.join('\n')));
    const out = JSON.parse(r.stdout || '{}') as { streams?: { codec_name?: string }[]; format?: { duration?: string } };
    const d = Number(out.format?.duration);
    return { durationSeconds: Number.isFinite(d) && d > 0 ? d : undefined, audioCodec: out.streams?.[0]?.codec_name };
  }

  /** Runs FFmpeg into a temp file and moves it in; the temp file never survives a failure. */
  async transcode(input: string, rendition: Rendition, copy: boolean, key: string, durationSeconds: number | undefined, signal: AbortSignal, onProgress: (fraction: number) => void): Promise<{ file: StoredFile; durationSeconds: number | undefined }> {
    const tmp = await this.storage.tempPath(key);
    const untrack = this.ledger?.temp(tmp) ?? (() => {});
    const args = [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-progress',
      'pipe:1',
      '-nostats',
      ...this.inputArgs(input),
      ...(this.threads > 0 ? ['-threads', String(this.threads)] : []),
      ...outputArgs(rendition, copy),
      tmp,
    ];
    // the position FFmpeg last reported: at the end, the duration it wrote (the `-progress` block
    // that says `progress=end`), which spares an ffprobe of the result (~60 ms a job)
    let writtenUs = 0;
    let ended = false;
    try {
      const r = await run(this.ffmpeg, args, {
        signal,
        ledger: this.ledger,
        ...(isRemote(input) ? { env: egressEnv(this.proxy()) } : {}),
        onLine: (line) => {
          if (line === 'progress=end') ended = true;
          if (!line.startsWith('out_time_us=')) return;
          const us = Number(line.slice('out_time_us='.length));
          if (!Number.isFinite(us) || us <= 0) return;
          writtenUs = us;
          if (durationSeconds) onProgress(Math.min(1, us / (durationSeconds * 1e6)));
        },
      });
      if (r.code !== 0) {
        const tail = r.stderrTail.join('\n');
        throw new ExtractionError(failureText(`ffmpeg failed (exit ${r.code ?? r.signal})`, r.stderrTail), PERMANENT.test(tail));
      }
      const written = ended && writtenUs > 0 ? writtenUs / 1e6 : (await this.probe(tmp, signal)).durationSeconds;
      const file = await this.storage.put(key, tmp);
      return { file, durationSeconds: written };
    } finally {
      await rm(tmp, { force: true });
      untrack();
    }
  }

  async extract(o: ExtractOptions): Promise<ExtractResult> {
    const { rendition, signal } = o;
    const key = storageKey(o.debateId, rendition);
    const masterKey = storageKey(o.debateId, MASTER);
    // a master already on storage: derive from it, no network
    if (!isMaster(rendition)) {
      const master = await this.storage.stat(masterKey);
      if (master) {
        const stored = await this.storedInput(masterKey);
        if (stored) {
          return await redacting(stored, async () => {
            const duration = o.masterDurationSeconds ?? (await this.probe(stored.input, signal)).durationSeconds;
            const out = await this.transcode(stored.input, rendition, false, key, duration, signal, (f) => o.onProgress(f * 100));
            return { ...out, copied: false, input: stored.label };
          });
        }
      }
    }
    const candidates = await this.resolve(o.videoUrl, rendition, signal);
    let lastError: Error | undefined;
    for (const candidate of candidates) {
      try {
        return await this.fromCandidate(candidate, o, key, masterKey);
      } catch (err) {
        if (signal.aborted) throw err;
        lastError = err as Error;
      }
    }
    throw lastError ?? new ExtractionError('no media candidate', true);
  }

  async fromCandidate(candidate: MediaCandidate, o: ExtractOptions, key: string, masterKey: string): Promise<ExtractResult> {
    const { rendition, signal } = o;
    const probed = await this.probe(candidate.url, signal);
    if (!probed.audioCodec) throw new ExtractionError(`${candidate.url} has no audio stream`, true);
    const aac = probed.audioCodec === 'aac';
    if (isMaster(rendition)) {
      const out = await this.transcode(candidate.url, rendition, aac, key, probed.durationSeconds, signal, (f) => o.onProgress(f * 100));
      return { ...out, copied: aac, input: candidate.url };
    }
    // a published MP3 at exactly the wanted bitrate is copied as it is
    if (rendition.format === 'mp3' && probed.audioCodec === 'mp3' && candidate.audioBitrate && `${candidate.audioBitrate}k` === rendition.quality) {
      const out = await this.transcode(candidate.url, rendition, true, key, probed.durationSeconds, signal, (f) => o.onProgress(f * 100));
      return { ...out, copied: true, input: candidate.url };
    }
    if (aac) {
      // keep the source's AAC as the master (stream copy), then derive this rendition from it
      const master = await this.transcode(candidate.url, MASTER, true, masterKey, probed.durationSeconds, signal, (f) => o.onProgress(f * 15));
      await o.onRendition(MASTER, master.file, master.durationSeconds, true);
      const stored = (await this.storedInput(masterKey)) ?? { input: candidate.url, label: candidate.url };
      return await redacting(stored, async () => {
        const out = await this.transcode(stored.input, rendition, false, key, master.durationSeconds, signal, (f) => o.onProgress(15 + f * 85));
        return { ...out, copied: false, input: stored.label };
      });
    }
    const out = await this.transcode(candidate.url, rendition, false, key, probed.durationSeconds, signal, (f) => o.onProgress(f * 100));
    return { ...out, copied: false, input: candidate.url };
  }

  /**
   * Where FFmpeg reads a stored rendition (the master) from: its local path, or a presigned URL of
   * the object on S3 (FFmpeg's HTTP input seeks with ranges) — never the source again. `label` is
   * what messages and logs show (the URL carries a signature).
   */
  async storedInput(key: string): Promise<{ input: string; label: string } | undefined> {
    const s = this.storage as AudioStorage & { path?: (k: string) => string };
    if (typeof s.path === 'function') {
      const path = s.path(key);
      return { input: path, label: path };
    }
    if (s.url) return { input: await s.url(key, { ttlSeconds: this.inputTtlSeconds }), label: s.describe?.(key) ?? key };
    return undefined;
  }
}

/** Runs `fn`, and keeps a presigned input URL out of the error it may throw (job errors are shown by the API). */
async function redacting<T>(stored: { input: string; label: string }, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (stored.input !== stored.label && err instanceof Error) err.message = err.message.split(stored.input).join(stored.label);
    throw err;
  }
}

/** Cheapest first: what can be copied for this rendition, then small audio files, then HLS, then video files. */
export function rankCandidates(candidates: MediaCandidate[], r: Rendition): MediaCandidate[] {
  const cost = (c: MediaCandidate): number => {
    if (r.format === 'mp3' && c.kind === 'mp3' && c.audioBitrate && `${c.audioBitrate}k` === r.quality) return 0;
    const aac = c.audioCodec === 'aac';
    const base = { m4a: 1, mp3: 2, hls: 3, mp4: 4, other: 5 }[c.kind] ?? 5;
    // the AAC master serves every rendition; prefer sources it can be copied from
    return (aac ? 0 : 10) + base;
  };
  return [...candidates].map((c, i) => ({ c, i })).sort((a, b) => cost(a.c) - cost(b.c) || a.i - b.i).map((x) => x.c);
}
