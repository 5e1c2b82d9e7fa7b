import { AudioFileSchema, CommissionSchema, type AudioFile, type Debate, type EntityManager, type FilterQuery } from '@robian/core';

/** What a feed item needs of a debate with audio ready in the feed's rendition. */
export interface FeedItem {
  debateId: number;
  title: string;
  description: string | null;
  date: Date;
  status: string;
  type: string;
  commission: string | null;
  speakers: { fullName: string; slug: string; group: string | null }[];
  file: AudioFile;
  chapters: boolean;
  transcript: boolean;
}

export interface Rendition {
  format: string;
  quality: string;
}

/**
 * The most debates a feed of chosen debates (a saved search, a collection) considers, in their order:
 * a search or a collection can match thousands, and a feed stays bounded (in queries and in pages).
 */
export const MAX_SELECTED_DEBATES = 500;

const timed = (d: Debate) => Array.isArray(d.chapters) && d.chapters.some((c) => typeof c?.start_seconds === 'number');

/**
 * The debates of a feed: those whose rendition is ready, newest first (or in the order of `ids`, of
 * which the first MAX_SELECTED_DEBATES only),
 * with their committee, speakers and whether they have timed chapters and a transcript — in four
 * queries for a page, whatever its size.
 */
export async function loadItems(
  em: EntityManager,
  rendition: Rendition,
  selection: { where: FilterQuery<Debate> } | { ids: number[] },
  page: { limit: number; offset: number },
): Promise<{ total: number; items: FeedItem[] }> {
  const chosen = 'ids' in selection ? selection.ids.slice(0, MAX_SELECTED_DEBATES) : undefined;
  const debate = chosen ? { id: { $in: chosen } } : (selection as { where: FilterQuery<Debate> }).where;
  const where = { format: rendition.format, quality: rendition.quality, debate } as never;
  let files: AudioFile[];
  let total: number;
  if (chosen) {
    const all = (await em.find(AudioFileSchema, where, { populate: ['debate'] as never })) as AudioFile[];
    const order = new Map(chosen.map((id, i) => [id, i]));
    all.sort((a, b) => order.get((a.debate as unknown as Debate).id)! - order.get((b.debate as unknown as Debate).id)!);
    total = all.length;
    files = all.slice(page.offset, page.offset + page.limit);
  } else {
    [total, files] = await Promise.all([
      em.count(AudioFileSchema, where),
      em.fork().find(AudioFileSchema, where, { populate: ['debate'] as never, orderBy: [{ debate: { date: 'desc' } }, { debate: { id: 'desc' } }] as never, limit: page.limit, offset: page.offset }) as Promise<AudioFile[]>,
    ]);
  }
  const debates = files.map((f) => f.debate as unknown as Debate);
  const ids = debates.map((d) => d.id);
  if (ids.length === 0) return { total, items: [] };
  const conn = em.getConnection();
  const marks = ids.map(() => '?').join(',');
  const [speakerRows, transcriptRows, commissions] = await Promise.all([
    conn.execute(`select s.debate_id, d.full_name, d.slug, d.political_group_short from debate_speaker s join deputy d on d.id = s.deputy_id where s.debate_id in (${marks})`, ids) as Promise<{ debate_id: number; full_name: string; slug: string; political_group_short: string | null }[]>,
    conn.execute(`select distinct debate_id from transcript_segment where debate_id in (${marks})`, ids) as Promise<{ debate_id: number }[]>,
    em.fork().find(CommissionSchema, { id: { $in: debates.map((d) => (d.commission as unknown as { id: number } | null)?.id).filter((v): v is number => typeof v === 'number') } } as never),
  ]);
  const names = new Map(commissions.map((c) => [c.id, c.name]));
  const transcripts = new Set(transcriptRows.map((r) => Number(r.debate_id)));
  const items = files.map((file, i) => {
    const d = debates[i]!;
    return {
      debateId: d.id,
      title: d.title,
      description: d.description ?? null,
      date: new Date(d.date),
      status: d.status,
      type: d.type,
      commission: names.get((d.commission as unknown as { id: number } | null)?.id ?? -1) ?? null,
      speakers: speakerRows.filter((s) => Number(s.debate_id) === d.id).map((s) => ({ fullName: s.full_name, slug: s.slug, group: s.political_group_short })),
      file,
      chapters: timed(d),
      transcript: transcripts.has(d.id),
    };
  });
  return { total, items };
}
