import { sqlMigration } from '@robian/core';

/*
 * The moment index: one row per transcript segment of the debate's preferred transcript source
 * (core's TRANSCRIPT_SOURCE_PREFERENCE: captions, compte_rendu, asr, then the others by name), kept
 * in step by triggers on `transcript_segment` as the debate index is on `debate`.
 *
 * A moment's document is its own text and the beginning of the next segment (its first 80
 * characters): a sentence cut across two caption cues ("la réforme | des retraites") is still a
 * phrase of the first one. Words of the moment's own text only count for single words, so a word of
 * the next cue never makes a second moment of the same words (see moment-query.ts).
 *
 * PostgreSQL: table `search_moment` (the document — own text weight A, the next cue's beginning weight
 * D, French configuration over `search_unaccent` — and copies of what filters, facets and the order
 * read: debate, date, type, committee, deputy, speaker, start), a GIN index, a date index for the
 * bounded ranking of broad queries; statement triggers queue debate ids and a deferred trigger
 * refreshes them once at commit (as search-0003 does for debates).
 *
 * SQLite: FTS5 table `search_moment_fts` (rowid = segment id; columns `text`, own text, and `span`,
 * own text and the next cue's beginning) with row triggers.
 */

const PREFERENCE_SQL = (col: string) => `(case ${col} when 'captions' then 0 when 'compte_rendu' then 1 when 'asr' then 2 else 3 end)`;

export const POSTGRESQL_MOMENTS_UP = [
  `create table "search_moment" (
    "segment_id" int primary key references "transcript_segment" ("id") on delete cascade,
    "debate_id" int not null references "debate" ("id") on delete cascade,
    "start_seconds" double precision not null,
    "date" timestamptz not null,
    "type" text not null,
    "commission_id" int null,
    "deputy_id" int null,
    "speaker" varchar(512) null,
    "document" tsvector not null
  )`,
  'create index "search_moment_document_idx" on "search_moment" using gin ("document") with (fastupdate = off)',
  'create index "search_moment_date_idx" on "search_moment" ("date" desc, "segment_id")',
  'create index "search_moment_debate_idx" on "search_moment" ("debate_id", "start_seconds")',
  'create index "search_moment_deputy_idx" on "search_moment" ("deputy_id") where "deputy_id" is not null',
  `create or replace function search_moment_document(own text, next text) returns tsvector language sql immutable parallel safe as $fn$
    select setweight(to_tsvector('french'::regconfig, search_unaccent(translate(coalesce(own, ''), '<>', '  '))), 'A') ||
           setweight(to_tsvector('french'::regconfig, search_unaccent(translate(left(coalesce(next, ''), 80), '<>', '  '))), 'D')
  $fn$`,
  // the moments of some debates, rebuilt from their preferred source
  `create or replace function search_moment_refresh(ids int[]) returns void language plpgsql as $fn$
begin
  if ids is null or cardinality(ids) = 0 then return; end if;
  delete from search_moment where debate_id = any(ids);
  with best as (
    select distinct on (x.debate_id) x.debate_id, x.source
    from (select debate_id, source from transcript_segment where debate_id = any(ids) group by debate_id, source) x
    order by x.debate_id, ${PREFERENCE_SQL('x.source')}, x.source
  )
  insert into search_moment (segment_id, debate_id, start_seconds, date, type, commission_id, deputy_id, speaker, document)
  select t.id, t.debate_id, t.start_seconds, d.date, d.type, d.commission_id, t.deputy_id, coalesce(t.speaker_name, p.full_name), search_moment_document(t.text, t.next_text)
  from (
    select ts.*, lead(ts.text) over (partition by ts.debate_id, ts.source order by ts.position) as next_text
    from transcript_segment ts join best b on b.debate_id = ts.debate_id and b.source = ts.source
  ) t
  join debate d on d.id = t.debate_id
  left join deputy p on p.id = t.deputy_id;
end
$fn$`,
  'create unlogged table "search_moment_pending" ("txid" xid8 not null, "debate_id" int not null, primary key ("txid", "debate_id"))',
  'create unlogged table "search_moment_pending_tx" ("txid" xid8 primary key)',
  `create or replace function search_moment_enqueue(ids int[]) returns void language plpgsql as $fn$
begin
  if ids is null or cardinality(ids) = 0 then return; end if;
  insert into search_moment_pending (txid, debate_id) select pg_current_xact_id(), i from unnest(ids) as i on conflict do nothing;
  insert into search_moment_pending_tx (txid) values (pg_current_xact_id()) on conflict do nothing;
end
$fn$`,
  `create or replace function search_moment_flush() returns trigger language plpgsql as $fn$
begin
  perform search_moment_refresh(array(select debate_id from search_moment_pending where txid = new.txid));
  delete from search_moment_pending where txid = new.txid;
  delete from search_moment_pending_tx where txid = new.txid;
  return null;
end
$fn$`,
  'create constraint trigger "search_moment_pending_flush" after insert on "search_moment_pending_tx" deferrable initially deferred for each row execute function search_moment_flush()',
  `create or replace function search_segments_inserted() returns trigger language plpgsql as $fn$
begin
  perform search_moment_enqueue(array(select distinct debate_id from new_rows));
  return null;
end
$fn$`,
  `create or replace function search_segments_deleted() returns trigger language plpgsql as $fn$
begin
  perform search_moment_enqueue(array(select distinct debate_id from old_rows));
  return null;
end
$fn$`,
  `create or replace function search_segments_updated() returns trigger language plpgsql as $fn$
begin
  perform search_moment_enqueue(array(select debate_id from new_rows union select debate_id from old_rows));
  return null;
end
$fn$`,
  'create trigger "search_segment_ai" after insert on "transcript_segment" referencing new table as new_rows for each statement execute function search_segments_inserted()',
  'create trigger "search_segment_ad" after delete on "transcript_segment" referencing old table as old_rows for each statement execute function search_segments_deleted()',
  'create trigger "search_segment_au" after update on "transcript_segment" referencing old table as old_rows new table as new_rows for each statement execute function search_segments_updated()',
  // what moments copy from their debate and speaker follows them (a plain update: no text to rebuild)
  `create or replace function search_moment_debate_updated() returns trigger language plpgsql as $fn$
begin
  update search_moment m set date = n.date, type = n.type, commission_id = n.commission_id
  from new_rows n join old_rows o on o.id = n.id
  where m.debate_id = n.id and (n.date, n.type, n.commission_id) is distinct from (o.date, o.type, o.commission_id);
  return null;
end
$fn$`,
  'create trigger "search_moment_debate_au" after update on "debate" referencing old table as old_rows new table as new_rows for each statement execute function search_moment_debate_updated()',
  `create or replace function search_moment_deputy_updated() returns trigger language plpgsql as $fn$
begin
  update search_moment m set speaker = coalesce(t.speaker_name, n.full_name)
  from new_rows n join old_rows o on o.id = n.id, transcript_segment t
  where t.deputy_id = n.id and m.segment_id = t.id and t.speaker_name is null and n.full_name is distinct from o.full_name;
  return null;
end
$fn$`,
  'create trigger "search_moment_deputy_au" after update on "deputy" referencing old table as old_rows new table as new_rows for each statement execute function search_moment_deputy_updated()',
  'select search_moment_refresh(array(select distinct debate_id from transcript_segment))',
];

export const POSTGRESQL_MOMENTS_DOWN = [
  'drop trigger if exists "search_moment_deputy_au" on "deputy"',
  'drop trigger if exists "search_moment_debate_au" on "debate"',
  'drop trigger if exists "search_segment_au" on "transcript_segment"',
  'drop trigger if exists "search_segment_ad" on "transcript_segment"',
  'drop trigger if exists "search_segment_ai" on "transcript_segment"',
  'drop trigger if exists "search_moment_pending_flush" on "search_moment_pending_tx"',
  'drop function if exists search_moment_deputy_updated()',
  'drop function if exists search_moment_debate_updated()',
  'drop function if exists search_segments_updated()',
  'drop function if exists search_segments_deleted()',
  'drop function if exists search_segments_inserted()',
  'drop function if exists search_moment_flush()',
  'drop function if exists search_moment_enqueue(int[])',
  'drop table if exists "search_moment_pending_tx"',
  'drop table if exists "search_moment_pending"',
  'drop function if exists search_moment_refresh(int[])',
  'drop table if exists "search_moment"',
  'drop function if exists search_moment_document(text, text)',
];

const ligatures = (expr: string) => `replace(replace(replace(replace(${expr}, 'œ', 'oe'), 'Œ', 'OE'), 'æ', 'ae'), 'Æ', 'AE')`;

/** The source of a debate that is indexed: the most preferred one it has. */
const sqliteBestSource = (debate: string) =>
  `(select s.source from transcript_segment s where s.debate_id = ${debate} group by s.source order by ${PREFERENCE_SQL('s.source')}, s.source limit 1)`;

/** Indexes segments `t` (an alias over transcript_segment) matching `where`, each with the beginning of the next one. */
const sqliteIndex = (where: string) =>
  [
    'insert into search_moment_fts (rowid, text, span)',
    `select t.id, ${ligatures('t.text')}, ${ligatures("t.text || ' ' || coalesce(substr((select n.text from transcript_segment n where n.debate_id = t.debate_id and n.source = t.source and n.position = t.position + 1), 1, 80), '')")}`,
    `from transcript_segment t where ${where};`,
  ].join('\n');

const sqliteTrigger = (name: string, event: string, body: string[]) => `create trigger \`${name}\` ${event} begin\n${body.join('\n')}\nend`;

export const SQLITE_MOMENTS_UP = [
  "create virtual table `search_moment_fts` using fts5(text, span, tokenize = 'unicode61 remove_diacritics 2')",
  sqliteTrigger('search_segment_ai', 'after insert on `transcript_segment` for each row', [
    // a better source arrived: the debate's other sources leave the index
    `delete from search_moment_fts where rowid in (select id from transcript_segment where debate_id = new.debate_id and source <> new.source) and new.source = ${sqliteBestSource('new.debate_id')};`,
    // the new segment, and the one before it (whose span now reaches into this one)
    `delete from search_moment_fts where rowid in (select id from transcript_segment where debate_id = new.debate_id and source = new.source and position = new.position - 1);`,
    sqliteIndex(`t.debate_id = new.debate_id and t.source = new.source and t.position in (new.position - 1, new.position) and new.source = ${sqliteBestSource('new.debate_id')}`),
  ]),
  sqliteTrigger('search_segment_ad', 'after delete on `transcript_segment` for each row', [
    'delete from search_moment_fts where rowid = old.id;',
    // the last segment of the indexed source went: the next best source (if any) takes its place
    `delete from search_moment_fts where rowid in (select id from transcript_segment where debate_id = old.debate_id) and not exists (select 1 from transcript_segment where debate_id = old.debate_id and source = old.source);`,
    sqliteIndex(`t.debate_id = old.debate_id and not exists (select 1 from transcript_segment where debate_id = old.debate_id and source = old.source) and t.source = ${sqliteBestSource('old.debate_id')}`),
  ]),
  sqliteTrigger('search_segment_au', 'after update of `text`, `source`, `position`, `debate_id` on `transcript_segment` for each row', [
    'delete from search_moment_fts where rowid in (select id from transcript_segment where debate_id in (old.debate_id, new.debate_id));',
    sqliteIndex(`t.debate_id in (old.debate_id, new.debate_id) and t.source = ${sqliteBestSource('t.debate_id')}`),
  ]),
  sqliteIndex(`t.source = ${sqliteBestSource('t.debate_id')}`).replace(/;$/, ''),
];

export const SQLITE_MOMENTS_DOWN = ['drop trigger if exists `search_segment_au`', 'drop trigger if exists `search_segment_ad`', 'drop trigger if exists `search_segment_ai`', 'drop table if exists `search_moment_fts`'];

export const search0004Moments = sqlMigration(
  'search-0004-moments',
  { sqlite: SQLITE_MOMENTS_UP, postgresql: POSTGRESQL_MOMENTS_UP },
  { sqlite: SQLITE_MOMENTS_DOWN, postgresql: POSTGRESQL_MOMENTS_DOWN },
);
