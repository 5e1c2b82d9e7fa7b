import { createHash } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { AudioFileSchema, DebateSchema, toDebateView, type AudioFile, type CacheNamespace, type Debate, type EntityManager, type PluginContext } from '@robian/core';
import type { ExtractionJob } from './entities.ts';
import type { JobStore } from './jobs.ts';
import { EXTENSIONS, FORMATS, MIME_TYPES, QUALITIES, storageKey, type AudioFormat, type Rendition } from './renditions.ts';
import { sign, signedUrl } from './signing.ts';
import type { AudioStorage, StoredFile } from './storage.ts';

export interface RenditionView {
  format: string;
  quality: string;
  status: 'queued' | 'running' | 'ready' | 'failed' | 'cancelled';
  progress: number;
  extraction_id: string | null;
  file_size: number | null;
  duration_seconds: number | null;
  stream_url: string | null;
  download_url: string | null;
  error: string | null;
}

export interface Playable {
  file: AudioFile;
  stored: StoredFile;
  title: string;
}

export interface CleanupReport {
  dry_run: boolean;
  ttl_days: number;
  removed: { key: string; bytes: number; reason: 'expired' | 'orphan' | 'temp' | 'missing-file' | 'stale-upload' }[];
  freed_bytes: number;
  /** What could not be checked (an S3 server that does not list multipart uploads). */
  warnings: string[];
}

const parseKey = (key: string): { debateId: number; rendition: Rendition } | undefined => {
  const m = /^(\d+)\/([a-z0-9]+)-([a-z0-9]+)\.([a-z0-9]+)$/.exec(key);
  if (!m) return undefined;
  const format = m[2] as AudioFormat;
  if (!FORMATS.includes(format) || !QUALITIES[format].includes(m[3]!) || EXTENSIONS[format] !== m[4]) return undefined;
  return { debateId: Number(m[1]), rendition: { format, quality: m[3]! } };
};

/** Audio files (the core entity), plays, the /streaming view and cleanup. */
export class AudioLibrary {
  readonly ctx: PluginContext;
  readonly storage: AudioStorage;
  readonly store: JobStore;
  readonly signedUrlTtl: number;
  readonly #played = new Map<number, number>();
  /**
   * Ready renditions seen recently: the audio route answers without a query per range request. The
   * lookup itself is what is kept, so the concurrent requests of a miss (500 players when the entry
   * expires) share one query and one stat instead of making one each.
   */
  readonly #playable = new Map<string, { value: Promise<Playable | undefined>; expires: number }>();
  playableTtlMs = 5000;
  /**
   * The cache namespace whose invalidation tells every instance to forget what it found playable
   * (Redis pub/sub, or the database's generations without Redis): a deleted debate's audio is not
   * served from another instance's memory. Nothing is stored in it.
   */
  readonly #removals: CacheNamespace;

  constructor(ctx: PluginContext, storage: AudioStorage, store: JobStore, signedUrlTtl: number) {
    this.ctx = ctx;
    this.storage = storage;
    this.store = store;
    this.signedUrlTtl = signedUrlTtl;
    this.#removals = ctx.cache.namespace('audio.removed', 0);
    ctx.onStop(this.#removals.onInvalidate(() => this.#playable.clear()));
  }

  /** Forgets a debate's playable renditions here and on every other instance (its audio was removed). */
  async forgetEverywhere(debateId: number): Promise<void> {
    this.forget(debateId);
    await this.#removals.invalidate();
  }

  em(): EntityManager {
    return this.ctx.orm.em.fork() as unknown as EntityManager;
  }

  async invalidateDebates(): Promise<void> {
    await this.ctx.cache.namespace('debates', this.ctx.config.cacheTtl.debates).invalidate();
  }

  async file(debateId: number, r: Rendition): Promise<AudioFile | null> {
    return this.em().findOne(AudioFileSchema, { debate: debateId, format: r.format, quality: r.quality }, { disableIdentityMap: true });
  }

  async files(debateId: number): Promise<AudioFile[]> {
    return this.em().find(AudioFileSchema, { debate: debateId }, { orderBy: { id: 'asc' }, disableIdentityMap: true });
  }

  /**
   * The row, the stored file and the debate's title of a ready rendition, cached for a few seconds
   * (a player sends many range requests; files are immutable, and a file removed meanwhile is
   * noticed when it fails to open). Misses are not cached.
   */
  /**
   * A URL of one version of a rendition's file that stays the same across calls (podcast apps dedupe
   * episodes by enclosure URL): signed with an expiry derived from the file's creation, and `v` the
   * file's version, so the URL never serves other bytes (the audio route answers 404 to a replaced version).
   */
  enclosureUrl(debateId: number, file: Pick<AudioFile, 'id' | 'format' | 'quality' | 'createdAt'>, ttlSeconds: number): string {
    const expires = Math.floor(new Date(file.createdAt).getTime() / 1000) + ttlSeconds;
    const path = `/api/debats/${debateId}/audio`;
    const q = new URLSearchParams({ format: file.format, quality: file.quality, expires: String(expires), signature: sign(this.ctx.config.secretKey, { path, format: file.format, quality: file.quality, expires }), v: fileVersion(file) });
    return `${path}?${q.toString()}`;
  }

  async playable(debateId: number, r: Rendition): Promise<Playable | undefined> {
    const key = `${debateId}/${r.format}/${r.quality}`;
    await this.ctx.cache.freshen(); // without Redis: another instance's removals, read from the database (at most once a second)
    const now = Date.now();
    const hit = this.#playable.get(key);
    if (hit && hit.expires > now) return hit.value;
    if (this.#playable.size > 10_000) this.#playable.clear();
    const entry = { value: this.#lookUpPlayable(debateId, r), expires: now + this.playableTtlMs };
    this.#playable.set(key, entry);
    // misses and failures are not kept: the next request looks again
    const drop = () => {
      if (this.#playable.get(key) === entry) this.#playable.delete(key);
    };
    entry.value.then((v) => v || drop(), drop);
    return entry.value;
  }

  async #lookUpPlayable(debateId: number, r: Rendition): Promise<Playable | undefined> {
    const em = this.em();
    const file = await em.findOne(AudioFileSchema, { debate: debateId, format: r.format, quality: r.quality }, { populate: ['debate'], disableIdentityMap: true });
    if (!file) return undefined;
    const stored = await this.storage.stat(file.storageKey);
    if (!stored) return undefined;
    return { file, stored, title: (file.debate as unknown as { title: string }).title };
  }

  forget(debateId?: number): void {
    if (debateId === undefined) this.#playable.clear();
    else for (const k of this.#playable.keys()) if (k.startsWith(`${debateId}/`)) this.#playable.delete(k);
  }

  /** Records a rendition that reached storage, and marks the debate as having audio. */
  async saveFile(debateId: number, r: Rendition, stored: StoredFile, durationSeconds: number | undefined): Promise<void> {
    const data = {
      storageKey: stored.key,
      // what `robian integrity` and `robian backup` compare the bytes with later
      checksum: stored.sha256 ? `sha256:${stored.sha256}` : await this.checksum(stored.key),
      mimeType: MIME_TYPES[r.format],
      fileSize: stored.size,
      durationSeconds: durationSeconds ?? null,
      updatedAt: new Date(),
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      const em = this.em();
      const existing = await em.findOne(AudioFileSchema, { debate: debateId, format: r.format, quality: r.quality });
      if (existing) {
        em.assign(existing, data as never);
        await em.flush();
        break;
      }
      try {
        em.create(AudioFileSchema, { debate: debateId, format: r.format, quality: r.quality, ...data, createdAt: new Date() } as never);
        await em.flush();
        break;
      } catch (err) {
        if (!(err instanceof UniqueConstraintViolationException) || attempt > 0) throw err;
      }
    }
    this.forget(debateId);
    await this.em().nativeUpdate(DebateSchema, { id: debateId, hasAudio: false }, { hasAudio: true });
    // the debate views list their audio files: every new rendition changes them, not only has_audio
    await this.invalidateDebates();
    await this.moveStatus(debateId, ['termine', 'extraction', 'erreur'], 'disponible');
  }

  /**
   * Moves a debate's life-cycle status as its audio progresses (termine → extraction → disponible, or
   * erreur), only from the states given: a sitting still `programme` or `en_cours` is never touched,
   * and a status changed meanwhile by someone else is left alone. Tells the bus, so live clients know.
   */
  async moveStatus(debateId: number, from: readonly string[], to: Debate['status'], options: { onlyWithoutAudio?: boolean } = {}): Promise<void> {
    const em = this.em();
    const before = await em.findOne(DebateSchema, { id: debateId }, { disableIdentityMap: true });
    if (!before || before.status === to || !from.includes(before.status)) return;
    if (options.onlyWithoutAudio && before.hasAudio) return;
    const changed = await em.nativeUpdate(DebateSchema, { id: debateId, status: before.status }, { status: to, updatedAt: new Date() });
    if (!changed) return;
    await this.invalidateDebates();
    const after = await this.em().findOne(DebateSchema, { id: debateId }, { populate: ['commission', 'speakers', 'audioFiles'] as never });
    if (after) void this.ctx.events.emit('debate.updated', { debate: toDebateView(after as Debate), previousStatus: before.status });
  }

  /** `sha256:<hex>` of a stored file (read once, just after it is written: it is still in the page cache). */
  async checksum(key: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of (await this.storage.open(key)) as AsyncIterable<Buffer>) hash.update(chunk);
    return `sha256:${hash.digest('hex')}`;
  }

  /** Notes a play; writes `last_played_at` at most once a minute per file. */
  played(file: AudioFile): void {
    const now = Date.now();
    if (now - (this.#played.get(file.id) ?? 0) < 60_000) return;
    this.#played.set(file.id, now);
    this.em()
      .nativeUpdate(AudioFileSchema, { id: file.id }, { lastPlayedAt: new Date(now) })
      .catch((err: unknown) => this.ctx.logger.warn({ err, audio_file: file.id }, 'could not record a play'));
  }

  /** Counts a play or a download of a file (the original API's `stream_count` / `download_count`). */
  counted(file: AudioFile, what: 'stream' | 'download'): void {
    const column = what === 'stream' ? 'stream_count' : 'download_count';
    this.em()
      .getConnection()
      .execute(`update audio_file set ${column} = ${column} + 1 where id = ?`, [file.id])
      .catch((err: unknown) => this.ctx.logger.warn({ err, audio_file: file.id }, `could not count a ${what}`));
  }

  urls(debateId: number, r: Rendition): { stream_url: string; download_url: string } {
    const secret = this.ctx.config.secretKey;
    return {
      stream_url: signedUrl(secret, `/api/debats/${debateId}/audio`, r.format, r.quality, this.signedUrlTtl),
      download_url: signedUrl(secret, `/api/debats/${debateId}/download`, r.format, r.quality, this.signedUrlTtl),
    };
  }

  async renditions(debateId: number): Promise<RenditionView[]> {
    const [files, jobs] = await Promise.all([this.files(debateId), this.store.forDebate(debateId)]);
    const views = new Map<string, RenditionView>();
    for (const f of files) {
      views.set(`${f.format}/${f.quality}`, {
        format: f.format,
        quality: f.quality,
        status: 'ready',
        progress: 100,
        extraction_id: null,
        file_size: Number(f.fileSize),
        duration_seconds: f.durationSeconds === null || f.durationSeconds === undefined ? null : Number(f.durationSeconds),
        ...this.urls(debateId, { format: f.format as AudioFormat, quality: f.quality }),
        error: null,
      });
    }
    for (const j of jobs) {
      const key = `${j.format}/${j.quality}`;
      const ready = views.get(key);
      if (ready) {
        ready.extraction_id = String(j.id);
        // a re-extraction of a ready rendition is in progress: the ready file stays playable
        continue;
      }
      views.set(key, {
        format: j.format,
        quality: j.quality,
        status: j.status === 'completed' ? 'failed' : (j.status as RenditionView['status']),
        progress: Number(j.progress),
        extraction_id: String(j.id),
        file_size: null,
        duration_seconds: null,
        stream_url: null,
        download_url: null,
        error: j.status === 'completed' ? 'the file is no longer on storage' : (j.error ?? null),
      });
    }
    return [...views.values()];
  }

  jobView(job: ExtractionJob, message?: string) {
    return {
      extraction_id: String(job.id),
      debate_id: String(typeof job.debate === 'number' ? job.debate : Number((job.debate as unknown as { id: number }).id)),
      format: job.format,
      quality: job.quality,
      status: job.status,
      // whole percent, as the original's `progress: int` (floored: 100 only once completed)
      progress: Math.floor(Number(job.progress)),
      attempts: job.attempts,
      error: job.error ?? null,
      message: message ?? jobMessage(job),
      created_at: job.createdAt.toISOString(),
      started_at: job.startedAt?.toISOString() ?? null,
      finished_at: job.finishedAt?.toISOString() ?? null,
    };
  }

  /**
   * Removes renditions not played for `ttlDays` (0 keeps them), files without a row (orphans),
   * temp files older than an hour, rows whose file is gone, and (object storage) multipart uploads
   * started more than `uploadMaxAgeHours` ago (0 keeps them). Reports what it freed.
   */
  async cleanup(o: { ttlDays: number; dryRun?: boolean; tempMaxAgeMs?: number; uploadMaxAgeHours?: number; now?: Date }): Promise<CleanupReport> {
    const now = o.now ?? new Date();
    const dryRun = o.dryRun ?? false;
    const report: CleanupReport = { dry_run: dryRun, ttl_days: o.ttlDays, removed: [], freed_bytes: 0, warnings: [] };
    const touched = new Set<number>();
    const em = this.em();
    const rows = await em.find(AudioFileSchema, {}, { disableIdentityMap: true });
    const known = new Map(rows.map((r) => [r.storageKey, r]));
    const cutoff = now.getTime() - o.ttlDays * 86_400_000;
    for (const row of rows) {
      const debateId = Number((row.debate as unknown as { id: number }).id);
      const stat = await this.storage.stat(row.storageKey);
      const lastUse = (row.lastPlayedAt ?? row.createdAt).getTime();
      const reason = !stat ? 'missing-file' : o.ttlDays > 0 && lastUse < cutoff ? 'expired' : undefined;
      if (!reason) continue;
      report.removed.push({ key: row.storageKey, bytes: stat?.size ?? 0, reason });
      if (dryRun) continue;
      if (stat) await this.storage.delete(row.storageKey);
      await this.em().nativeDelete(AudioFileSchema, { id: row.id });
      await this.store.deleteFor(debateId, { format: row.format as AudioFormat, quality: row.quality });
      touched.add(debateId);
    }
    const tempMaxAge = o.tempMaxAgeMs ?? 3_600_000;
    for await (const f of this.storage.list()) {
      if (f.key.endsWith('.tmp')) {
        if (now.getTime() - f.mtime.getTime() < tempMaxAge) continue;
        report.removed.push({ key: f.key, bytes: f.size, reason: 'temp' });
      } else if (!known.has(f.key)) {
        // a file no row points to: a crash between rename and insert, or a deleted debate
        const parsed = parseKey(f.key);
        if (parsed && storageKey(parsed.debateId, parsed.rendition) === f.key && (await this.file(parsed.debateId, parsed.rendition))) continue;
        report.removed.push({ key: f.key, bytes: f.size, reason: 'orphan' });
      } else continue;
      if (!dryRun) await this.storage.delete(f.key);
    }
    const uploadMaxAge = o.uploadMaxAgeHours ?? 24;
    if (this.storage.abortStaleUploads && uploadMaxAge > 0) {
      const stale = await this.storage.abortStaleUploads({ olderThan: new Date(now.getTime() - uploadMaxAge * 3_600_000), dryRun });
      for (const u of stale.uploads) report.removed.push({ key: u.key, bytes: u.bytes, reason: 'stale-upload' });
      if (!stale.supported) report.warnings.push(stale.detail ?? 'the storage cannot list multipart uploads');
    }
    report.freed_bytes = report.removed.reduce((n, r) => n + r.bytes, 0);
    if (!dryRun) this.forget();
    if (!dryRun && touched.size) {
      for (const id of touched) {
        const left = await this.em().count(AudioFileSchema, { debate: id });
        if (left === 0) await this.em().nativeUpdate(DebateSchema, { id }, { hasAudio: false });
      }
      await this.invalidateDebates();
    }
    return report;
  }
}

export function jobMessage(job: ExtractionJob): string {
  switch (job.status) {
    case 'queued':
      return job.attempts > 0 ? `Extraction queued again (attempt ${job.attempts + 1}) after: ${job.error ?? 'an interruption'}` : 'Extraction queued';
    case 'running':
      return `Extraction in progress (${Math.round(Number(job.progress))}%)`;
    case 'completed':
      return 'Audio available';
    case 'failed':
      return `Extraction failed: ${job.error ?? 'unknown error'}`;
    case 'cancelled':
      return 'Extraction cancelled';
    default:
      return job.status;
  }
}

/** A rendition file's version: its row and the second it was written (a re-extraction is a new version). */
export function fileVersion(file: Pick<AudioFile, 'id' | 'createdAt'>): string {
  return `${file.id.toString(36)}${Math.floor(new Date(file.createdAt).getTime() / 1000).toString(36)}`;
}
