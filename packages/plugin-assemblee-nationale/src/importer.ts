import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CommissionSchema,
  uniqueSlugs,
  DebateSchema,
  DeputySchema,
  type Commission,
  type Debate,
  type Deputy,
  type EntityManager,
  type ImportCounts,
  type ImportOptions,
  type ImportProblem,
  type ImportReport,
  type Logger,
  type RobianOrm,
} from '@robian/core';
import type { PoliteFetcher } from './fetcher.ts';
import { InputError, openInput, type InputItem, type InputReader } from './input.ts';
import {
  RecordError,
  commissionFields,
  isCommissionOrgane,
  parseActeur,
  parseOrgane,
  parseReunion,
  type CommissionFields,
  type DebateFields,
  type DeputyFields,
  type OrganeInfo,
  type ParsedReunion,
  type RecordKind,
} from './model.ts';

export const SOURCE_ID = 'assemblee-nationale';

/** Tags the importer owns on a debate (others, set by people, are kept). */
const IMPORTER_TAGS = new Set(['eventuel', 'sans-video']);
/** Statuses the agenda decides; the media statuses (disponible, extraction, erreur) belong to the audio pipeline. */
const AGENDA_STATUSES = new Set(['programme', 'en_cours', 'termine']);

export interface ImportResult {
  report: ImportReport;
  changedDebateIds: number[];
  removedDebateIds: number[];
}

export interface ImporterDeps {
  orm: RobianOrm;
  logger: Logger;
  fetcher: PoliteFetcher;
  batchSize: number;
  maxFileBytes: number;
  streamThresholdBytes: number;
  maxDownloadBytes: number;
  downloadTimeoutMs: number;
  now?: () => Date;
}

const counts = (): ImportCounts => ({ created: 0, updated: 0, unchanged: 0, skipped: 0, removed: 0 });

function isUniqueViolation(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string } | null;
  return e?.name === 'UniqueConstraintViolationException' || e?.code === '23505' || /UNIQUE constraint failed/i.test(e?.message ?? '');
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    const ta = a ? new Date(a as Date).getTime() : null;
    const tb = b ? new Date(b as Date).getTime() : null;
    return ta === tb;
  }
  if (Array.isArray(a) || Array.isArray(b) || (typeof a === 'object' && a !== null) || (typeof b === 'object' && b !== null)) {
    return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  }
  return (a ?? null) === (b ?? null);
}

/** Assigns the fields that differ; returns whether anything changed. */
function assign(entity: Record<string, unknown>, fields: Record<string, unknown>): boolean {
  let changed = false;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (!same(entity[key], value)) {
      entity[key] = value;
      changed = true;
    }
  }
  return changed;
}

/**
 * Imports the AN open data (organes, acteurs, réunions) into Commission, Deputy and Debate, by uid:
 * a second import of the same data creates nothing. Records are written in batches, one transaction
 * per batch; a bad record is reported (uid + reason) and skipped.
 */
export class AssembleeImporter {
  readonly #deps: ImporterDeps;

  constructor(deps: ImporterDeps) {
    this.#deps = deps;
  }

  /** Imports from a folder, a JSON file, a zip, or an http(s) URL (downloaded first). */
  async run(input: string, options: ImportOptions = {}): Promise<ImportResult> {
    if (/^https?:\/\//i.test(input)) {
      const dir = await mkdtemp(join(tmpdir(), 'robian-an-'));
      try {
        const target = join(dir, 'download');
        options.progress?.({ phase: 'download', done: 0 });
        await this.#deps.fetcher.download(input, target, {
          timeoutMs: this.#deps.downloadTimeoutMs,
          maxBytes: this.#deps.maxDownloadBytes,
          ...(options.signal ? { signal: options.signal } : {}),
          onBytes: (done, total) => options.progress?.({ phase: 'download', done, ...(total === undefined ? {} : { total }) }),
        });
        return await this.#runLocal(target, options);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    return this.#runLocal(input, options);
  }

  async #runLocal(path: string, options: ImportOptions): Promise<ImportResult> {
    const started = Date.now();
    const reader = await openInput(path, { maxFileBytes: this.#deps.maxFileBytes, streamThresholdBytes: this.#deps.streamThresholdBytes });
    const run = new ImportRun(this.#deps, options);
    try {
      await this.#loop(reader, run, options);
    } catch (err) {
      // batches committed before the failure stay: callers still refresh what they name
      const partial = run.result();
      partial.report.durationMs = Date.now() - started;
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { partialResult: partial });
    } finally {
      await reader.close();
    }
    const result = run.result();
    result.report.durationMs = Date.now() - started;
    return result;
  }

  async #loop(reader: InputReader, run: ImportRun, options: ImportOptions): Promise<void> {
    await run.loadKnown();
    let done = 0;
    let lastFile = '';
    options.progress?.({ phase: 'import', done: 0, total: reader.total });
    for await (const item of reader.items(options.signal)) {
      if (item.file !== lastFile) {
        if (lastFile !== '') options.progress?.({ phase: 'import', done: ++done, total: reader.total });
        lastFile = item.file;
      }
      await run.add(item);
    }
    await run.flush();
    options.progress?.({ phase: 'import', done: reader.total, total: reader.total });
  }
}

export { InputError };

/** The part of an import done before it failed (attached to the error as `partialResult`). */
export function partialResultOf(err: unknown): ImportResult | undefined {
  return (err as { partialResult?: ImportResult } | null)?.partialResult;
}

/** The state of one import: maps of what is known, the pending batch, the counts. */
class ImportRun {
  readonly #deps: ImporterDeps;
  readonly #options: ImportOptions;
  readonly #now: Date;
  readonly organes = new Map<string, OrganeInfo>();
  readonly commissionIds = new Map<string, number>();
  readonly report: ImportReport = { source: SOURCE_ID, commissions: counts(), deputies: counts(), debates: counts(), problems: [] };
  readonly changed = new Set<number>();
  readonly removed: number[] = [];
  #batchKind: RecordKind | undefined;
  #batch: { raw: unknown; file: string }[] = [];

  constructor(deps: ImporterDeps, options: ImportOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#now = deps.now?.() ?? new Date();
  }

  #em(): EntityManager {
    return this.#deps.orm.em.fork() as unknown as EntityManager;
  }

  /** The committees of earlier imports: an agenda imported alone still links them (and names them). */
  async loadKnown(): Promise<void> {
    const rows = await this.#em().find(CommissionSchema, { source: SOURCE_ID }, { fields: ['id', 'externalId', 'name', 'shortName', 'active'] as never });
    for (const c of rows) {
      this.commissionIds.set(c.externalId, c.id);
      this.organes.set(c.externalId, {
        uid: c.externalId,
        codeType: '',
        xsiType: 'OrganeParlementaire_Type',
        name: c.name,
        shortName: c.shortName ?? null,
        abbreviation: null,
        active: c.active,
      });
    }
  }

  problem(p: ImportProblem): void {
    this.report.problems.push(p);
    if (p.severity !== 'warning') this.#deps.logger.debug({ uid: p.uid, reason: p.reason }, 'import: record skipped');
  }

  #countsOf(kind: RecordKind): ImportCounts {
    return kind === 'organe' ? this.report.commissions : kind === 'acteur' ? this.report.deputies : this.report.debates;
  }

  async add(item: InputItem): Promise<void> {
    if (item.type === 'problem') {
      const kind = item.kind as RecordKind;
      if (kind === 'organe' || kind === 'acteur' || kind === 'reunion') this.#countsOf(kind).skipped++;
      this.problem({ uid: item.uid, kind: item.kind, reason: item.reason, severity: 'skipped', file: item.file });
      return;
    }
    if (this.#batchKind !== item.kind || this.#batch.length >= this.#deps.batchSize) await this.flush();
    this.#batchKind = item.kind;
    this.#batch.push({ raw: item.raw, file: item.file });
  }

  async flush(): Promise<void> {
    const kind = this.#batchKind;
    const batch = this.#batch;
    this.#batch = [];
    if (!kind || batch.length === 0) return;
    this.#options.signal?.throwIfAborted();
    if (kind === 'organe') await this.#organes(batch);
    else if (kind === 'acteur') await this.#acteurs(batch);
    else await this.#reunions(batch);
  }

  #parse<T>(kind: RecordKind, batch: { raw: unknown; file: string }[], fn: (raw: unknown) => T, uidOf: (t: T) => string): { value: T; file: string }[] {
    const out = new Map<string, { value: T; file: string }>();
    for (const { raw, file } of batch) {
      try {
        const value = fn(raw);
        out.set(uidOf(value), { value, file }); // a uid twice in one batch: the last one wins
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        const rawUid = (raw as { uid?: unknown } | null)?.uid;
        const uid = typeof rawUid === 'string' ? rawUid : typeof (rawUid as { '#text'?: unknown })?.['#text'] === 'string' ? (rawUid as { '#text': string })['#text'] : file;
        this.#countsOf(kind).skipped++;
        this.problem({ uid, kind, reason: err.message, severity: 'skipped', file });
      }
    }
    return [...out.values()];
  }

  /**
   * Runs one batch in a transaction. Counts and problems are applied only once it committed. A
   * unique violation (another instance importing the same records at the same time) runs the batch
   * again (up to twice): the new read finds the rows the other one created.
   */
  async #transaction<T>(stats: ImportCounts, work: (em: EntityManager, delta: ImportCounts, problems: ImportProblem[]) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const delta = counts();
      const problems: ImportProblem[] = [];
      try {
        const result = await this.#em().transactional((em) => work(em as unknown as EntityManager, delta, problems));
        stats.created += delta.created;
        stats.updated += delta.updated;
        stats.unchanged += delta.unchanged;
        stats.removed = (stats.removed ?? 0) + (delta.removed ?? 0);
        for (const p of problems) this.problem(p);
        return result;
      } catch (err) {
        if (attempt < 2 && isUniqueViolation(err)) {
          this.#deps.logger.warn({ err: (err as Error).message }, 'import: a batch met rows written concurrently; running it again');
          continue;
        }
        throw err;
      }
    }
  }

  async #organes(batch: { raw: unknown; file: string }[]): Promise<void> {
    const parsed = this.#parse('organe', batch, parseOrgane, (o) => o.uid);
    const commissions: CommissionFields[] = [];
    for (const { value } of parsed) {
      this.organes.set(value.uid, value);
      if (isCommissionOrgane(value)) commissions.push(commissionFields(value));
    }
    if (commissions.length === 0) return;
    const created = await this.#transaction(this.report.commissions, async (em, delta) => {
      const made: Commission[] = [];
      // slugs are unique: a committee named like another one (the demo's, a dissolved one's) gets `<slug>-<uid>`
      const slugs = commissions.map((c) => ({ source: SOURCE_ID, externalId: c.externalId, slug: c.slug }));
      await uniqueSlugs(em as never, 'commission', slugs);
      slugs.forEach((k, i) => (commissions[i]!.slug = k.slug));
      const existing = await em.find(CommissionSchema, { source: SOURCE_ID, externalId: { $in: commissions.map((c) => c.externalId) } });
      const byUid = new Map(existing.map((c) => [c.externalId, c]));
      for (const fields of commissions) {
        const row = byUid.get(fields.externalId);
        if (row) {
          if (assign(row as unknown as Record<string, unknown>, { ...fields })) delta.updated++;
          else delta.unchanged++;
        } else {
          made.push(em.create(CommissionSchema, { source: SOURCE_ID, ...fields } as never) as Commission);
          delta.created++;
        }
      }
      return made;
    });
    for (const c of created) this.commissionIds.set(c.externalId, c.id);
  }

  async #acteurs(batch: { raw: unknown; file: string }[]): Promise<void> {
    const parsed = this.#parse('acteur', batch, (raw) => parseActeur(raw, this.organes, this.#now), (a) => a.fields.externalId);
    if (parsed.length === 0) return;
    for (const { value, file } of parsed) {
      for (const w of value.warnings) this.problem({ uid: value.fields.externalId, kind: 'acteur', reason: w, severity: 'warning', file });
    }
    await this.#transaction(this.report.deputies, async (em, delta) => {
      const existing = await em.find(DeputySchema, { source: SOURCE_ID, externalId: { $in: parsed.map((p) => p.value.fields.externalId) } });
      const byUid = new Map(existing.map((d) => [d.externalId, d]));
      for (const { value } of parsed) {
        const fields: DeputyFields = value.fields;
        const row = byUid.get(fields.externalId);
        if (row) {
          if (assign(row as unknown as Record<string, unknown>, { ...fields })) delta.updated++;
          else delta.unchanged++;
        } else {
          em.create(DeputySchema, {
            source: SOURCE_ID,
            ...fields,
            politicalGroup: fields.politicalGroup ?? null,
            politicalGroupShort: fields.politicalGroupShort ?? null,
          } as never);
          delta.created++;
        }
      }
    });
  }

  async #reunions(batch: { raw: unknown; file: string }[]): Promise<void> {
    const parsed = this.#parse('reunion', batch, (raw) => parseReunion(raw, this.organes, this.#now), (r) => r.uid);
    if (parsed.length === 0) return;
    const stats = this.report.debates;
    const live: { value: ParsedReunion; file: string }[] = [];
    const dead: { value: ParsedReunion; file: string }[] = [];
    for (const item of parsed) {
      const { value, file } = item;
      if (value.senat) {
        stats.skipped++;
        this.problem({ uid: value.uid, kind: 'reunion', reason: `Sénat sitting in the AN agenda (organe ${value.organeRef ?? '?'}): not an AN debate`, severity: 'skipped', file });
        continue;
      }
      if (value.state !== 'active') {
        stats.skipped++;
        this.problem({ uid: value.uid, kind: 'reunion', reason: `${value.state === 'cancelled' ? 'cancelled (cycleDeVie.etat "Annulé")' : 'deleted (cycleDeVie.etat "Supprimé")'}: not shown as a debate`, severity: 'skipped', file });
        dead.push(item);
        continue;
      }
      for (const w of value.warnings) this.problem({ uid: value.uid, kind: 'reunion', reason: w, severity: 'warning', file });
      live.push(item);
    }
    const uids = [...live, ...dead].map((r) => r.value.uid);
    if (uids.length === 0) return;
    const { touched, removedIds } = await this.#transaction(stats, async (em, delta, problems) => {
      const touched: Debate[] = [];
      const removedIds: number[] = [];
      const existing = (await em.find(DebateSchema, { source: SOURCE_ID, externalId: { $in: uids } }, { populate: ['audioFiles'] as never })) as Debate[];
      const byUid = new Map(existing.map((d) => [d.externalId!, d]));
      for (const { value, file } of dead) {
        const row = byUid.get(value.uid);
        if (!row) continue;
        const hasMedia = row.hasAudio || Boolean(row.sourceUrl) || (row.audioFiles.isInitialized() && row.audioFiles.length > 0);
        if (hasMedia) {
          problems.push({ uid: value.uid, kind: 'reunion', reason: 'withdrawn from the agenda but the debate has media: kept as it was', severity: 'warning', file });
          continue;
        }
        removedIds.push(row.id);
        em.remove(row);
        delta.removed = (delta.removed ?? 0) + 1;
      }
      for (const { value } of live) {
        const row = byUid.get(value.uid);
        const commissionId = value.organeRef ? this.commissionIds.get(value.organeRef) : undefined;
        const commission = commissionId ? em.getReference(CommissionSchema, commissionId) : null;
        const fields = this.#debateFields(value.fields, row);
        if (row) {
          const changed = assign(row as unknown as Record<string, unknown>, fields as unknown as Record<string, unknown>);
          const currentCommission = row.commission ? (row.commission as { id: number }).id : null;
          const commissionChanged = currentCommission !== (commissionId ?? null);
          if (commissionChanged) row.commission = commission as never;
          if (changed || commissionChanged) {
            delta.updated++;
            touched.push(row);
          } else delta.unchanged++;
        } else {
          touched.push(em.create(DebateSchema, { source: SOURCE_ID, ...fields, commission } as never) as Debate);
          delta.created++;
        }
      }
      return { touched, removedIds };
    });
    for (const d of touched) this.changed.add(d.id);
    this.removed.push(...removedIds);
  }

  /** The columns the agenda owns; the media status and people's tags are kept. */
  #debateFields(fields: DebateFields, row: Debate | undefined): Partial<DebateFields> {
    const out: Partial<DebateFields> = { ...fields };
    if (row && !AGENDA_STATUSES.has(row.status)) delete out.status;
    const kept = (row?.tags ?? []).filter((t) => !IMPORTER_TAGS.has(t));
    out.tags = [...kept, ...fields.tags.filter((t) => !kept.includes(t))];
    return out;
  }

  result(): ImportResult {
    return { report: this.report, changedDebateIds: [...this.changed], removedDebateIds: this.removed };
  }
}

export type { Deputy };
