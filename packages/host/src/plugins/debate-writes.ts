import {
  ConflictError,
  CommissionSchema,
  DebateSchema,
  DeputySchema,
  ValidationError,
  commissionMatch,
  deputyMatch,
  slugify,
  toDebateView,
  type Commission,
  type Debate,
  type DebateCreateInput,
  type DebateView,
  type Deputy,
  type EntityManager,
} from '@robian/core';

/** How the catalogue reads one debate's view and writes a debate from a create or update body. */

export const POPULATE = ['commission', 'speakers', 'audioFiles'] as const;

export async function loadView(em: EntityManager, id: number): Promise<DebateView | null> {
  const debate = await em.findOne(DebateSchema, { id }, { populate: POPULATE as never });
  return debate ? toDebateView(debate as Debate) : null;
}

/** Applies the input, checks uniqueness and writes; a unique violation racing past the check is a 409 too. */
export async function saveDebate(em: EntityManager, debate: Debate, input: Partial<DebateCreateInput>, exceptId?: number): Promise<void> {
  await applyInput(em, debate, input);
  await assertUnique(em, debate, exceptId);
  try {
    await em.flush();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError('a debate with this source_url or (source, external_id) already exists');
    throw err;
  }
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return e?.name === 'UniqueConstraintViolationException' || e?.code === '23505' || /UNIQUE constraint failed/i.test(e?.message ?? '');
}

async function applyInput(em: EntityManager, debate: Debate, input: Partial<DebateCreateInput>): Promise<void> {
  const set = <K extends keyof Debate>(key: K, value: unknown) => {
    if (value !== undefined) (debate as Record<string, unknown>)[key as string] = value;
  };
  set('title', input.title);
  set('description', input.description);
  set('type', input.type);
  set('status', input.status);
  set('date', input.date);
  set('startTime', input.start_time);
  set('endTime', input.end_time);
  set('durationMinutes', input.duration_minutes);
  set('location', input.location);
  set('legislature', input.legislature);
  set('source', input.source);
  set('externalId', input.external_id);
  set('sourceUrl', input.source_url);
  set('videoUrl', input.video_url);
  set('thumbnailUrl', input.thumbnail_url);
  set('agendaPoints', input.agenda_points);
  set('keywords', input.keywords);
  set('tags', input.tags);
  set('chapters', input.chapters);
  set('ministers', input.ministers);
  set('metadata', input.metadata);
  if (input.location === undefined) set('location', input.salle);
  if (input.commission_id === undefined && input.commission !== undefined) {
    debate.commission = (input.commission === null ? null : await committeeNamed(em, input.commission, debate.source ?? 'manual')) as never;
  }
  if (input.speaker_ids === undefined && input.speakers !== undefined) {
    const deputies = await Promise.all([...new Set(input.speakers)].map((name) => deputyNamed(em, name, debate.source ?? 'manual')));
    debate.speakers.set([...new Map(deputies.map((d) => [d.id ?? d.slug, d])).values()] as never);
  }
  if (input.commission_id !== undefined) {
    if (input.commission_id === null) debate.commission = null as never;
    else {
      const commission = await em.findOne(CommissionSchema, { id: input.commission_id });
      if (!commission) throw new ValidationError([{ in: 'body', field: 'commission_id', message: `no commission has id ${input.commission_id}` }]);
      debate.commission = commission as never;
    }
  }
  if (input.speaker_ids !== undefined) {
    const ids = [...new Set(input.speaker_ids)];
    const deputies = ids.length ? await em.find(DeputySchema, { id: { $in: ids } }) : [];
    if (deputies.length !== ids.length) {
      const found = new Set(deputies.map((d) => d.id));
      const missing = ids.filter((id) => !found.has(id));
      throw new ValidationError([{ in: 'body', field: 'speaker_ids', message: `no deputy has id ${missing.join(', ')}` }]);
    }
    debate.speakers.set(deputies as never);
  }
  if (debate.startTime && debate.endTime && debate.durationMinutes == null) {
    debate.durationMinutes = Math.max(0, Math.round((new Date(debate.endTime).getTime() - new Date(debate.startTime).getTime()) / 60000));
  }
  if (debate.startTime && debate.endTime && new Date(debate.endTime) < new Date(debate.startTime)) {
    throw new ValidationError([{ in: 'body', field: 'end_time', message: 'end_time is before start_time' }]);
  }
}

/** The committee a name (or uid, slug, short name) names; an unknown one is created (the original stored names). */
async function committeeNamed(em: EntityManager, name: string, source: string): Promise<Commission> {
  const found = (await em.findOne(CommissionSchema, { $or: [{ name }, commissionMatch(name)] } as never, { orderBy: { id: 'asc' } })) as Commission | null;
  if (found) return found;
  const slug = slugify(name) || 'commission';
  return em.create(CommissionSchema, { source, externalId: `name:${slug}`.slice(0, 128), name, slug, kind: null, shortName: null } as never) as Commission;
}

/** The deputy a full name (or uid, slug) names; an unknown one is created, its last name the name's last word. */
async function deputyNamed(em: EntityManager, name: string, source: string): Promise<Deputy> {
  const found = (await em.findOne(DeputySchema, { $or: [{ fullName: name }, deputyMatch(name)] } as never, { orderBy: { id: 'asc' } })) as Deputy | null;
  if (found) return found;
  const slug = slugify(name) || 'depute';
  const words = name.split(/\s+/);
  const lastName = words.length > 1 ? words.at(-1)! : name;
  const firstName = words.length > 1 ? words.slice(0, -1).join(' ') : '';
  return em.create(DeputySchema, { source, externalId: `name:${slug}`.slice(0, 128), fullName: name, firstName, lastName, slug } as never) as Deputy;
}

async function assertUnique(em: EntityManager, debate: Partial<Debate>, exceptId?: number): Promise<void> {
  if (debate.sourceUrl) {
    const other = await em.findOne(DebateSchema, { sourceUrl: debate.sourceUrl, ...(exceptId ? { id: { $ne: exceptId } } : {}) });
    if (other) throw new ConflictError(`a debate with this source_url already exists (id ${other.id})`, { field: 'source_url', existing_id: other.id });
  }
  if (debate.externalId) {
    const other = await em.findOne(DebateSchema, {
      source: debate.source ?? 'manual',
      externalId: debate.externalId,
      ...(exceptId ? { id: { $ne: exceptId } } : {}),
    });
    if (other) throw new ConflictError(`a debate with this source and external_id already exists (id ${other.id})`, { field: 'external_id', existing_id: other.id });
  }
}
