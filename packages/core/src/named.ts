import type { EntityManager } from '@mikro-orm/sql';
import { CommissionSchema, DeputySchema, type Commission, type Deputy } from './entities.ts';
import { slugify } from './wire.ts';

export type NamedKind = 'commission' | 'deputy';

const MAX_INPUT = 255;

/**
 * The one resolution of a committee's or a deputy's name, for every route that takes one
 * (`/api/commissions/{name}/debats`, `/api/debats/?commission=`, and the deputies' alike): by
 * priority the database id, the parliament's uid (any case), the slug (slugs are unique), then the
 * name itself (any case, with or without accents, punctuation ignored; a committee also by its
 * short name, a deputy also as "Last First"). Undefined when nothing matches.
 */
export async function resolveNamed(em: EntityManager, kind: NamedKind, value: string): Promise<number | undefined> {
  const v = value.trim().slice(0, MAX_INPUT);
  if (!v) return undefined;
  const schema = kind === 'commission' ? CommissionSchema : DeputySchema;
  const or: Record<string, unknown>[] = [{ externalId: v }, { externalId: v.toUpperCase() }];
  const slug = slugify(v);
  if (slug) or.push({ slug });
  if (/^\d{1,9}$/.test(v)) or.push({ id: Number(v) });
  const direct = (await em.fork().find(schema as typeof CommissionSchema, { $or: or } as never, { fields: ['id', 'externalId', 'slug'] as never, orderBy: { id: 'asc' } })) as (Commission | Deputy)[];
  const pick = direct.find((r) => String(r.id) === v) ?? direct.find((r) => r.externalId.toLowerCase() === v.toLowerCase()) ?? direct.find((r) => r.slug === slug);
  if (pick) return Number(pick.id);
  if (!slug) return undefined;
  const byName = (await namedRows(em, kind)).find((c) => slugify(c.name) === slug || c.aliases.some((a) => slugify(a) === slug));
  return byName?.id;
}

/** Every committee or deputy with the spellings that resolve to it (for the name step and for suggestions). */
export async function namedRows(em: EntityManager, kind: NamedKind): Promise<{ id: number; external_id: string; name: string; slug: string; aliases: string[] }[]> {
  const conn = em.getConnection();
  if (kind === 'commission') {
    const rows = await conn.execute<{ id: number; external_id: string; name: string; short_name: string | null; slug: string }[]>('select id, external_id, name, short_name, slug from commission');
    return rows.map((r) => ({ id: Number(r.id), external_id: r.external_id, name: r.name, slug: r.slug, aliases: r.short_name ? [r.short_name] : [] }));
  }
  const rows = await conn.execute<{ id: number; external_id: string; full_name: string; first_name: string; last_name: string; slug: string }[]>('select id, external_id, full_name, first_name, last_name, slug from deputy');
  return rows.map((r) => ({ id: Number(r.id), external_id: r.external_id, name: r.full_name, slug: r.slug, aliases: [`${r.last_name} ${r.first_name}`] }));
}

/** The committee and deputy a debate list names (`commission`, `depute`), resolved by `resolveNamed`; null: named, but no such one. */
export interface ResolvedNames {
  commission?: number | null;
  depute?: number | null;
}

export async function resolveListNames(em: EntityManager, q: { commission?: string | undefined; depute?: string | undefined }): Promise<ResolvedNames> {
  const out: ResolvedNames = {};
  if (q.commission) out.commission = (await resolveNamed(em, 'commission', q.commission)) ?? null;
  if (q.depute) out.depute = (await resolveNamed(em, 'deputy', q.depute)) ?? null;
  return out;
}

/**
 * Slugs are unique: a committee whose slug another one holds (the demo's `finances` and the real
 * import's) gets `<slug>-<its uid in lower case>`, which does not depend on which came first. Sets
 * the slug of each row to write, given the rows already stored.
 */
export async function uniqueSlugs(em: EntityManager, kind: NamedKind, rows: { source: string; externalId: string; slug: string }[]): Promise<void> {
  if (rows.length === 0) return;
  const plain = [...new Set(rows.map((r) => r.slug))];
  // `em.execute`: inside the caller's transaction (an importer's batch), on its connection
  const table = kind === 'commission' ? 'commission' : 'deputy';
  const holders = await em.execute<{ source: string; external_id: string; slug: string }[]>(`select source, external_id, slug from ${table} where slug in (${plain.map(() => '?').join(', ')})`, plain);
  const holderOf = new Map(holders.map((h) => [h.slug, `${h.source}\n${h.external_id}`]));
  for (const r of rows) {
    const me = `${r.source}\n${r.externalId}`;
    const holder = holderOf.get(r.slug);
    if (holder === undefined) holderOf.set(r.slug, me);
    else if (holder !== me) r.slug = `${r.slug}-${r.externalId.toLowerCase()}`.slice(0, 255);
  }
}
