import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, ProblemError, idParams, z, type RobianContext } from '@robian/core';
import { egressEnv } from './egress.ts';
import type { AudioRuntime } from './runtime.ts';

/** One relayed live stream: one FFmpeg writing an audio-only HLS window into `dir`. */
interface Relay {
  key: string;
  source: string;
  dir: string;
  debateIds: Set<number>;
  process: ChildProcess | undefined;
  codec: 'copy' | 'aac' | undefined;
  startedAt: number;
  /** FFmpeg restarts since the relay started (shown in status). */
  restarts: number;
  /** Restarts since FFmpeg last ran for RESTART_RESET_MS: the bound applies to these. */
  restartsInRow: number;
  /** Listener id → last request (ms). */
  listeners: Map<string, number>;
  lastSeen: number;
  /** Requests waiting for the first segment: the relay is not idle while someone waits. */
  waiting: number;
  ready: Promise<void>;
  stopping: boolean;
  failed?: string;
  /** The playlist as last read (re-read after PLAYLIST_TTL_MS: FFmpeg rewrites it once a segment). */
  playlist?: { at: number; text: string };
  /** The latest segments listed by that playlist, in memory: every listener asks for the same ones. */
  segments: Map<string, Buffer>;
}

export interface RelayStatus {
  source: string;
  debate_ids: number[];
  pid: number | null;
  codec: 'copy' | 'aac' | null;
  listeners: number;
  started_at: string;
  restarts: number;
  failed?: string;
}

const SEGMENT = /^seg\d{6}\.ts$/;
/** Restarts in a row at most before the relay is given up (502 until a listener starts a new one). */
export const MAX_RESTARTS_IN_ROW = 5;
/** An FFmpeg that ran this long before exiting resets the count of restarts in a row. */
const RESTART_RESET_MS = 60_000;
/** How long a read playlist is served before the file is read again. */
const PLAYLIST_TTL_MS = 250;
/** Segments kept in memory per relay (the live edge that listeners fetch). */
const SEGMENTS_IN_MEMORY = 8;
/** How long a debate's live source (its status and stream URL) is taken as known. */
const SOURCE_TTL_MS = 1000;
/** Wait before the nth restart in a row: 1 s, 2 s, 4 s, 8 s, 10 s. */
export const restartDelayMs = (n: number) => Math.min(10_000, 500 * 2 ** n);
const liveQuery = z.object({ l: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional() });
const segmentParams = z.object({ id: idParams.shape.id, segment: z.string().regex(SEGMENT, 'expected segNNNNNN.ts') });

/**
 * The audio-only relay of a parliament's live stream: `GET /api/debats/{id}/live` (HLS playlist)
 * and its segments. One FFmpeg per live stream, whatever the number of listeners: started by the
 * first listener, stopped `liveRelayGraceSeconds` after the last one was seen; AAC copied when the
 * source's audio is AAC (else encoded to AAC); a bounded DVR window (`liveRelayDvrSeconds`); the
 * input read through plugin-audio's egress proxy and allow-list, like every other fetch of media.
 */
export class LiveRelay {
  readonly audio: AudioRuntime;
  readonly #relays = new Map<string, Relay>();
  /** Debate id → its live source as last looked up (a request per listener per second otherwise). */
  readonly #sources = new Map<number, { at: number; url: Promise<string> }>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(audio: AudioRuntime) {
    this.audio = audio;
  }

  register(): void {
    const { ctx } = this.audio;
    ctx.router.route({
      method: 'get',
      path: '/api/debats/{id}/live',
      operationId: 'getDebateLive',
      summary: 'The audio-only HLS relay of a sitting on air (one FFmpeg per live stream, shared by its listeners)',
      tags: ['audio'],
      params: idParams,
      query: liveQuery,
      responses: {
        200: { description: 'The HLS playlist (application/vnd.apple.mpegurl)', contentType: 'application/vnd.apple.mpegurl' },
        404: { description: 'No such debate, or it is not on air' },
        503: { description: 'The relay is starting (Retry-After) or cannot run here' },
      },
      handler: (koa, { params, query }) => this.playlist(koa, params.id, query.l),
    });
    ctx.router.route({
      method: 'get',
      path: '/api/debats/{id}/live/{segment}',
      operationId: 'getDebateLiveSegment',
      summary: 'A segment of the live relay',
      tags: ['audio'],
      params: segmentParams,
      query: liveQuery,
      responses: { 200: { description: 'An MPEG-TS segment (AAC)', contentType: 'video/mp2t' }, 404: { description: 'Not (or no longer) in the window' } },
      handler: (koa, { params, query }) => this.segment(koa, params.id, params.segment, query.l),
    });
  }

  get graceMs(): number {
    return this.audio.options.liveRelayGraceSeconds * 1000;
  }

  /** The parliament's live HLS of a debate on air, from its source (looked up once a second at most). */
  #liveSource(id: number): Promise<string> {
    const now = Date.now();
    const known = this.#sources.get(id);
    if (known && now - known.at < SOURCE_TTL_MS) return known.url;
    if (this.#sources.size > 1000) this.#sources.clear();
    const url = this.#lookUpLiveSource(id);
    this.#sources.set(id, { at: now, url });
    url.catch(() => this.#sources.delete(id));
    return url;
  }

  async #lookUpLiveSource(id: number): Promise<string> {
    const debate = await this.audio.loadDebate(id);
    const source = this.audio.ctx.sources.registry.get(debate.source);
    const url = debate.status === 'en_cours' && source?.liveStream ? await source.liveStream({ id: debate.id, externalId: debate.externalId ?? null, status: debate.status }) : undefined;
    if (!url) throw new NotFoundError(`Debate ${id} is not on air: no live stream.`);
    return url;
  }

  /** Whether a live stream is available for the debate, and where (for /streaming). */
  async liveUrlOf(debate: { id: number; source: string; externalId?: string | null; status: string }): Promise<string | null> {
    const source = this.audio.ctx.sources.registry.get(debate.source);
    if (debate.status !== 'en_cours' || !source?.liveStream) return null;
    const url = await source.liveStream({ id: debate.id, externalId: debate.externalId ?? null, status: debate.status }).catch(() => undefined);
    return url ? `/api/debats/${debate.id}/live` : null;
  }

  #listener(koa: RobianContext, l: string | undefined): string {
    if (l) return `l:${l}`;
    return `c:${createHash('sha1').update(`${koa.ip}|${koa.get('user-agent')}`).digest('hex').slice(0, 16)}`;
  }

  async #acquire(id: number, source: string): Promise<Relay> {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new ProblemError(502, 'bad-live-source', 'Bad gateway', `The live stream of debate ${id} is not a URL.`);
    }
    if (!['http:', 'https:'].includes(url.protocol) || !this.audio.allowList().allows(url)) {
      throw new ProblemError(422, 'host-not-allowed', 'Host not allowed', `The host "${url.host}" of debate ${id}'s live stream is not in MEDIA_ALLOWED_HOSTS.`, { host: url.host });
    }
    const key = createHash('sha1').update(url.href).digest('hex').slice(0, 16);
    let relay = this.#relays.get(key);
    if (relay && !relay.failed) {
      relay.debateIds.add(id);
      return relay;
    }
    if (this.#relays.size >= this.audio.options.liveRelayMaxStreams && !relay) {
      throw new ProblemError(503, 'live-relay-busy', 'Service unavailable', `This instance relays ${this.#relays.size} live streams already (LIVE_RELAY_MAX_STREAMS).`, {}, { 'Retry-After': '30' });
    }
    if (relay) await this.#stop(relay);
    const dir = join(this.audio.ctx.dataDir(), 'live', key);
    relay = { key, source: url.href, dir, debateIds: new Set([id]), process: undefined, codec: undefined, startedAt: Date.now(), restarts: 0, restartsInRow: 0, listeners: new Map(), lastSeen: Date.now(), waiting: 0, ready: Promise.resolve(), stopping: false, segments: new Map() };
    this.#relays.set(key, relay);
    const r = relay;
    relay.ready = this.#start(r).catch((err: unknown) => {
      r.failed = (err as Error).message;
      throw err;
    });
    this.#sweep();
    return relay;
  }

  /**
   * Starts the relay's FFmpeg. A restart (`restart`) keeps the folder and appends to its playlist
   * (`append_list`): segment numbers go on from the last one, after an `EXT-X-DISCONTINUITY`, and the
   * segments already listed stay served, so a listener's player carries on across the gap.
   */
  async #start(relay: Relay, restart = false): Promise<void> {
    const parts = this.audio.parts;
    const ffmpeg = parts.extractor.ffmpeg;
    const proxy = parts.extractor.proxy(); // 503-worthy when the workers (and their egress proxy) do not run here
    if (!relay.codec) {
      const probe = await parts.extractor.probe(relay.source, AbortSignal.timeout(20_000)).catch(() => ({ audioCodec: undefined }));
      relay.codec = probe.audioCodec === 'aac' ? 'copy' : 'aac';
    }
    if (!restart) await rm(relay.dir, { recursive: true, force: true });
    await mkdir(relay.dir, { recursive: true });
    const o = this.audio.options;
    const listSize = Math.max(3, Math.ceil(o.liveRelayDvrSeconds / o.liveRelaySegmentSeconds));
    const args = [
      '-nostdin', '-hide_banner', '-loglevel', 'error',
      '-protocol_whitelist', 'http,https,tcp,tls,crypto,httpproxy', '-http_proxy', proxy, '-rw_timeout', '30000000',
      '-live_start_index', '-3',
      '-i', relay.source,
      '-vn', '-sn', '-map', '0:a:0',
      ...(relay.codec === 'copy' ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '96k']),
      '-f', 'hls', '-hls_time', String(o.liveRelaySegmentSeconds), '-hls_list_size', String(listSize),
      '-hls_flags', `delete_segments+omit_endlist+independent_segments${restart && existsSync(join(relay.dir, 'index.m3u8')) ? '+append_list' : ''}`,
      '-hls_segment_filename', join(relay.dir, 'seg%06d.ts'),
      join(relay.dir, 'index.m3u8'),
    ];
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'], env: egressEnv(proxy), shell: false, windowsHide: true });
    const spawnedAt = Date.now();
    relay.process = child;
    const untrack = this.audio.ledger.track(child.pid);
    const untrackDir = this.audio.ledger.temp(relay.dir);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c: string) => {
      stderr = (stderr + c).slice(-4000);
    });
    child.once('exit', (code, signal) => {
      untrack();
      untrackDir();
      if (relay.process === child) relay.process = undefined;
      if (relay.stopping) return;
      // a relay that dies while listened to is restarted with backoff, MAX_RESTARTS_IN_ROW times in a row at most
      if (Date.now() - spawnedAt >= RESTART_RESET_MS) relay.restartsInRow = 0;
      const tail = stderr.split('\n').filter(Boolean).slice(-2).join(' ');
      if (relay.restartsInRow < MAX_RESTARTS_IN_ROW && Date.now() - relay.lastSeen < this.graceMs + 5000) {
        relay.restartsInRow++;
        relay.restarts++;
        const delay = restartDelayMs(relay.restartsInRow);
        this.audio.ctx.logger.warn({ source: relay.source, code, signal, stderr: tail, restart: relay.restartsInRow, delay_ms: delay }, 'live relay exited: restarting');
        setTimeout(() => {
          if (!relay.stopping) relay.ready = this.#start(relay, true).catch((err: unknown) => void (relay.failed = (err as Error).message));
        }, delay).unref();
      } else {
        relay.failed = `FFmpeg exited (${code ?? signal})${relay.restartsInRow ? ` after ${relay.restartsInRow} restarts in a row` : ''}: ${tail}`;
      }
    });
    this.audio.ctx.logger.info({ source: relay.source, pid: child.pid, codec: relay.codec }, 'live relay started');
  }

  /** Waits (up to 20 s) for the relay's playlist to list a first segment. */
  async #playlistText(relay: Relay): Promise<string> {
    await relay.ready.catch((err: unknown) => {
      throw new ProblemError(503, 'live-relay-unavailable', 'Service unavailable', `The live relay cannot start here: ${(err as Error).message}`, {}, { 'Retry-After': '10' });
    });
    const file = join(relay.dir, 'index.m3u8');
    const end = Date.now() + 20_000;
    for (;;) {
      if (relay.failed) throw new ProblemError(502, 'live-relay-failed', 'Bad gateway', `The live relay failed: ${relay.failed}`);
      if (relay.playlist && Date.now() - relay.playlist.at < PLAYLIST_TTL_MS) return relay.playlist.text;
      if (existsSync(file)) {
        const text = await readFile(file, 'utf8').catch(() => '');
        if (/seg\d{6}\.ts/.test(text)) {
          relay.playlist = { at: Date.now(), text };
          return text;
        }
      }
      if (Date.now() > end) throw new ProblemError(503, 'live-relay-starting', 'Service unavailable', 'The live relay is starting: retry in a moment.', {}, { 'Retry-After': '2' });
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async playlist(koa: RobianContext, id: number, l: string | undefined): Promise<undefined> {
    const relay = await this.#acquire(id, await this.#liveSource(id));
    const listener = this.#listener(koa, l);
    this.#seen(relay, listener);
    relay.waiting++;
    let text: string;
    try {
      text = await this.#playlistText(relay);
    } finally {
      relay.waiting--;
    }
    this.#seen(relay, listener);
    const suffix = l ? `?l=${l}` : '';
    koa.set('Content-Type', 'application/vnd.apple.mpegurl');
    koa.set('Cache-Control', 'no-cache');
    koa.body = text.replace(/^(seg\d{6}\.ts)$/gm, `live/$1${suffix}`);
    return undefined;
  }

  async segment(koa: RobianContext, id: number, segment: string, l: string | undefined): Promise<undefined> {
    const relay = [...this.#relays.values()].find((r) => r.debateIds.has(id) && !r.stopping);
    if (!relay) throw new NotFoundError(`Debate ${id} has no live relay running: GET /api/debats/${id}/live first.`);
    this.#seen(relay, this.#listener(koa, l));
    let body = relay.segments.get(segment);
    if (!body) {
      body = await readFile(join(relay.dir, segment)).catch(() => undefined);
      if (!body) throw new NotFoundError(`Segment ${segment} is not (or no longer) in the live window.`);
      // kept only once the playlist lists it (FFmpeg has finished writing it)
      if (relay.playlist?.text.includes(`\n${segment}\n`)) {
        relay.segments.set(segment, body);
        for (const old of relay.segments.keys()) {
          if (relay.segments.size <= SEGMENTS_IN_MEMORY) break;
          relay.segments.delete(old);
        }
      }
    }
    koa.set('Content-Type', 'video/mp2t');
    koa.set('Cache-Control', 'public, max-age=60');
    koa.body = body;
    return undefined;
  }

  #seen(relay: Relay, listener: string): void {
    const now = Date.now();
    relay.listeners.set(listener, now);
    relay.lastSeen = now;
  }

  /** Stops relays nobody requested for the grace period; forgets listeners silent for 3 segments. */
  #sweep(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      const silence = Math.max(3 * this.audio.options.liveRelaySegmentSeconds * 1000, 6000);
      for (const relay of this.#relays.values()) {
        for (const [k, at] of relay.listeners) if (now - at > silence) relay.listeners.delete(k);
        if (relay.waiting > 0 && !relay.failed) continue;
        if (now - relay.lastSeen > Math.max(this.graceMs, 1000) || (relay.failed && now - relay.lastSeen > 1000)) void this.#stop(relay);
      }
      if (this.#relays.size === 0 && this.#sweeper) {
        clearInterval(this.#sweeper);
        this.#sweeper = undefined;
      }
    }, 500);
    this.#sweeper.unref();
  }

  async #stop(relay: Relay): Promise<void> {
    relay.stopping = true;
    if (this.#relays.get(relay.key) === relay) this.#relays.delete(relay.key);
    const child = relay.process;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    }
    await rm(relay.dir, { recursive: true, force: true });
    this.audio.ctx.logger.info({ source: relay.source }, 'live relay stopped');
  }

  status(): RelayStatus[] {
    return [...this.#relays.values()].map((r) => ({
      source: r.source,
      debate_ids: [...r.debateIds],
      pid: r.process?.pid ?? null,
      codec: r.codec ?? null,
      listeners: r.listeners.size,
      started_at: new Date(r.startedAt).toISOString(),
      restarts: r.restarts,
      ...(r.failed ? { failed: r.failed } : {}),
    }));
  }

  async stop(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    await Promise.all([...this.#relays.values()].map((r) => this.#stop(r)));
  }
}
