import { sqlMigration } from '@robian/core';
import { search0004Moments } from './moment-migrations.ts';

/*
 * The search index lives outside the entity metadata (MikroORM knows nothing of it), and is kept in
 * step by database triggers on every table whose text it holds: debate, commission, deputy and
 * debate_speaker. A write through MikroORM, a raw SQL statement, an importer or a psql session all
 * update the index in the same transaction as the row they change.
 *
 * PostgreSQL: table `search_debate` (one row per debate: its `document` tsvector, built by the
 * IMMUTABLE `search_document()` with the `french` configuration over `search_unaccent(text)`, and the
 * date, type and committee the facets read), a GIN index on the document, and statement-level
 * triggers with transition tables (one refresh per statement, however many rows it wrote).
 *
 * SQLite: the FTS5 table `search_debate_fts` (rowid = debate id, tokenizer unicode61 with
 * remove_diacritics 2) and row-level triggers. French stemming is applied at query time (see
 * `query.ts`), so the triggers need no function of ours and any SQLite client can write debates.
 */

/**
 * FTS5's remove_diacritics folds accents but keeps the ligatures œ and æ as letters of their own,
 * while the query side (and PostgreSQL's unaccent) spell them "oe" and "ae": the index spells them so too.
 */
const ligatures = (expr: string) => `replace(replace(replace(replace(${expr}, 'œ', 'oe'), 'Œ', 'OE'), 'æ', 'ae'), 'Æ', 'AE')`;

/** The columns of one debate's document, as SQL over `debate d left join commission c`. */
const sqliteDocumentSelect = (where: string) =>
  [
    'insert into search_debate_fts (rowid, title, body, names, description)',
    `select d.id, ${ligatures('d.title')},`,
    ligatures(
      [
        "trim(coalesce((select group_concat(value, ' ') from json_each(case when json_valid(d.agenda_points) then d.agenda_points else '[]' end)), '')",
        "  || ' ' || coalesce((select group_concat(value, ' ') from json_each(case when json_valid(d.keywords) then d.keywords else '[]' end)), '')",
        "  || ' ' || coalesce((select group_concat(value, ' ') from json_each(case when json_valid(d.tags) then d.tags else '[]' end)), ''))",
      ].join('\n'),
    ) + ',',
    ligatures(
      "trim(coalesce(c.name, '') || ' ' || coalesce(c.short_name, '') || ' ' || coalesce((select group_concat(p.full_name, ' ') from debate_speaker ds join deputy p on p.id = ds.deputy_id where ds.debate_id = d.id), ''))",
    ) + ',',
    ligatures("coalesce(d.description, '')"),
    `from debate d left join commission c on c.id = d.commission_id where ${where};`,
  ].join('\n');

const sqliteTrigger = (name: string, event: string, body: string[]) =>
  `create trigger \`${name}\` ${event} begin\n${body.join('\n')}\nend`;

export const SQLITE_UP = [
  `create virtual table \`search_debate_fts\` using fts5(title, body, names, description, tokenize = 'unicode61 remove_diacritics 2')`,
  sqliteTrigger('search_debate_ai', 'after insert on `debate` for each row', [sqliteDocumentSelect('d.id = new.id')]),
  sqliteTrigger('search_debate_au', 'after update of `title`, `description`, `agenda_points`, `keywords`, `tags`, `commission_id` on `debate` for each row', [
    'delete from search_debate_fts where rowid = old.id;',
    sqliteDocumentSelect('d.id = new.id'),
  ]),
  sqliteTrigger('search_debate_ad', 'after delete on `debate` for each row', ['delete from search_debate_fts where rowid = old.id;']),
  sqliteTrigger(
    'search_commission_au',
    'after update of `name`, `short_name` on `commission` for each row when old.name is not new.name or old.short_name is not new.short_name',
    ['delete from search_debate_fts where rowid in (select id from debate where commission_id = new.id);', sqliteDocumentSelect('d.commission_id = new.id')],
  ),
  sqliteTrigger('search_deputy_au', 'after update of `full_name` on `deputy` for each row when old.full_name is not new.full_name', [
    'delete from search_debate_fts where rowid in (select debate_id from debate_speaker where deputy_id = new.id);',
    sqliteDocumentSelect('d.id in (select debate_id from debate_speaker where deputy_id = new.id)'),
  ]),
  sqliteTrigger('search_debate_speaker_ai', 'after insert on `debate_speaker` for each row', [
    'delete from search_debate_fts where rowid = new.debate_id;',
    sqliteDocumentSelect('d.id = new.debate_id'),
  ]),
  sqliteTrigger('search_debate_speaker_ad', 'after delete on `debate_speaker` for each row', [
    'delete from search_debate_fts where rowid = old.debate_id;',
    sqliteDocumentSelect('d.id = old.debate_id'),
  ]),
  // index what is already there
  sqliteDocumentSelect('1 = 1').replace(/;$/, ''),
];

export const SQLITE_DOWN = [
  'drop trigger if exists `search_debate_speaker_ad`',
  'drop trigger if exists `search_debate_speaker_ai`',
  'drop trigger if exists `search_deputy_au`',
  'drop trigger if exists `search_commission_au`',
  'drop trigger if exists `search_debate_ad`',
  'drop trigger if exists `search_debate_au`',
  'drop trigger if exists `search_debate_ai`',
  'drop table if exists `search_debate_fts`',
];

export const POSTGRESQL_UP = [
  'create extension if not exists unaccent',
  'create extension if not exists pg_trgm',
  // unaccent() is STABLE (it reads its dictionary by name); this wrapper names the dictionary, schema
  // included, and is IMMUTABLE, so it can be used in a generated column and in indexes. The schema is the
  // one the extension lives in (public by default, elsewhere on some managed servers).
  `do $do$
declare
  ext_schema text;
begin
  select n.nspname into ext_schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'unaccent';
  execute format(
    $f$create or replace function search_unaccent(text) returns text language sql immutable parallel safe strict as $b$ select %1$I.unaccent(%2$L::regdictionary, $1) $b$$f$,
    ext_schema, format('%I.unaccent', ext_schema));
end
$do$`,
  `create or replace function search_json_text(jsonb) returns text language sql immutable parallel safe as $fn$ select coalesce(string_agg(e, ' '), '') from jsonb_array_elements_text(case when jsonb_typeof($1) = 'array' then $1 else '[]'::jsonb end) as e $fn$`,
  // One debate's document: title (weight A), agenda points, keywords and tags (B), committee and
  // speakers' names (C), description (D), in the French configuration over unaccented text.
  // translate(): PostgreSQL's parser reads "<word …>" as an XML tag and would skip the words in it.
  `create or replace function search_document(title text, body text, names text, description text) returns tsvector language sql immutable parallel safe as $fn$
    select setweight(to_tsvector('french'::regconfig, search_unaccent(translate(coalesce(title, ''), '<>', '  '))), 'A') ||
           setweight(to_tsvector('french'::regconfig, search_unaccent(translate(coalesce(body, ''), '<>', '  '))), 'B') ||
           setweight(to_tsvector('french'::regconfig, search_unaccent(translate(coalesce(names, ''), '<>', '  '))), 'C') ||
           setweight(to_tsvector('french'::regconfig, search_unaccent(translate(coalesce(description, ''), '<>', '  '))), 'D')
  $fn$`,
  // the document and, copied from the debate, what facets, filters and the date order read, so a
  // search touches this narrow table only
  `create table "search_debate" (
    "debate_id" int primary key references "debate" ("id") on delete cascade,
    "date" timestamptz not null,
    "type" text not null,
    "commission_id" int null,
    "document" tsvector not null
  )`,
  // fastupdate off: every write goes into the index at once instead of a pending list that each
  // search would scan until the next vacuum; imports are slower, searches steadier
  'create index "search_debate_document_idx" on "search_debate" using gin ("document") with (fastupdate = off)',
  `create or replace function search_refresh(ids int[]) returns void language plpgsql as $fn$
begin
  if ids is null or cardinality(ids) = 0 then return; end if;
  delete from search_debate s where s.debate_id = any(ids) and not exists (select 1 from debate d where d.id = s.debate_id);
  insert into search_debate (debate_id, date, type, commission_id, document)
  select d.id, d.date, d.type, d.commission_id, search_document(
    d.title,
    concat_ws(' ', search_json_text(d.agenda_points), search_json_text(d.keywords), search_json_text(d.tags)),
    concat_ws(' ', c.name, c.short_name, (select string_agg(p.full_name, ' ' order by p.id) from debate_speaker ds join deputy p on p.id = ds.deputy_id where ds.debate_id = d.id)),
    d.description)
  from debate d left join commission c on c.id = d.commission_id
  where d.id = any(ids)
  on conflict (debate_id) do update set date = excluded.date, type = excluded.type, commission_id = excluded.commission_id, document = excluded.document
  where (search_debate.date, search_debate.type, search_debate.commission_id, search_debate.document) is distinct from (excluded.date, excluded.type, excluded.commission_id, excluded.document);
end
$fn$`,
  `create or replace function search_debate_inserted() returns trigger language plpgsql as $fn$
begin
  perform search_refresh(array(select id from new_rows));
  return null;
end
$fn$`,
  `create or replace function search_debate_updated() returns trigger language plpgsql as $fn$
begin
  perform search_refresh(array(
    select n.id from new_rows n join old_rows o on o.id = n.id
    where (n.title, n.description, n.agenda_points::text, n.keywords::text, n.tags::text, n.commission_id, n.date, n.type)
      is distinct from (o.title, o.description, o.agenda_points::text, o.keywords::text, o.tags::text, o.commission_id, o.date, o.type)));
  return null;
end
$fn$`,
  `create or replace function search_commission_updated() returns trigger language plpgsql as $fn$
begin
  perform search_refresh(array(
    select d.id from debate d join new_rows n on n.id = d.commission_id join old_rows o on o.id = n.id
    where (n.name, n.short_name) is distinct from (o.name, o.short_name)));
  return null;
end
$fn$`,
  `create or replace function search_deputy_updated() returns trigger language plpgsql as $fn$
begin
  perform search_refresh(array(
    select distinct ds.debate_id from debate_speaker ds join new_rows n on n.id = ds.deputy_id join old_rows o on o.id = n.id
    where n.full_name is distinct from o.full_name));
  return null;
end
$fn$`,
  `create or replace function search_speakers_inserted() returns trigger language plpgsql as $fn$
begin
  perform search_refresh(array(select distinct debate_id from new_rows));
  return null;
end
$fn$`,
  `create or replace function search_speakers_deleted() returns trigger language plpgsql as $fn$
begin
  perform search_refresh(array(select distinct debate_id from old_rows));
  return null;
end
$fn$`,
  'create trigger "search_debate_ai" after insert on "debate" referencing new table as new_rows for each statement execute function search_debate_inserted()',
  'create trigger "search_debate_au" after update on "debate" referencing old table as old_rows new table as new_rows for each statement execute function search_debate_updated()',
  'create trigger "search_commission_au" after update on "commission" referencing old table as old_rows new table as new_rows for each statement execute function search_commission_updated()',
  'create trigger "search_deputy_au" after update on "deputy" referencing old table as old_rows new table as new_rows for each statement execute function search_deputy_updated()',
  'create trigger "search_debate_speaker_ai" after insert on "debate_speaker" referencing new table as new_rows for each statement execute function search_speakers_inserted()',
  'create trigger "search_debate_speaker_ad" after delete on "debate_speaker" referencing old table as old_rows for each statement execute function search_speakers_deleted()',
  // index what is already there
  'select search_refresh(array(select id from debate))',
];

export const POSTGRESQL_DOWN = [
  'drop trigger if exists "search_debate_speaker_ad" on "debate_speaker"',
  'drop trigger if exists "search_debate_speaker_ai" on "debate_speaker"',
  'drop trigger if exists "search_deputy_au" on "deputy"',
  'drop trigger if exists "search_commission_au" on "commission"',
  'drop trigger if exists "search_debate_au" on "debate"',
  'drop trigger if exists "search_debate_ai" on "debate"',
  'drop table if exists "search_debate"',
  'drop function if exists search_speakers_deleted()',
  'drop function if exists search_speakers_inserted()',
  'drop function if exists search_deputy_updated()',
  'drop function if exists search_commission_updated()',
  'drop function if exists search_debate_updated()',
  'drop function if exists search_debate_inserted()',
  'drop function if exists search_refresh(int[])',
  'drop function if exists search_document(text, text, text, text)',
  'drop function if exists search_json_text(jsonb)',
  'drop function if exists search_unaccent(text)',
];

export const search0001Index = sqlMigration('search-0001-index', { sqlite: SQLITE_UP, postgresql: POSTGRESQL_UP }, { sqlite: SQLITE_DOWN, postgresql: POSTGRESQL_DOWN });

/*
 * PostgreSQL: `year`, a stored generated column, so that the year facet groups by it instead of
 * computing `extract(year …)` for every match (issue #4; docs/decisions.md § Search 11). Adding a
 * stored column rewrites the table. SQLite: nothing to do.
 */
export const search0002Year = sqlMigration(
  'search-0002-year',
  {
    sqlite: [],
    postgresql: [`alter table "search_debate" add column "year" smallint generated always as (cast(extract(year from "date" at time zone 'UTC') as smallint)) stored`],
  },
  { sqlite: [], postgresql: ['alter table "search_debate" drop column if exists "year"'] },
);

/** The trigger functions of search-0001 that refresh the index, by name, as that migration defines them. */
const REFRESHING_TRIGGERS = POSTGRESQL_UP.filter((sql) => /^create or replace function search_\w+\(\) returns trigger/.test(sql));

/*
 * PostgreSQL: the index is refreshed once per debate at the commit of the writing transaction instead
 * of once per statement (issue #4; docs/decisions.md § Search 11). An importer writes a debate, then
 * its speakers: two statements, so two refreshes, and the first version of the row was dead at once
 * (the table held 1.6 times its live size after an import of 100,000 debates, and every search read
 * the extra pages). The statement triggers now queue the debate ids (unlogged tables, keyed by the
 * transaction id); a deferred constraint trigger, fired once per transaction at commit, refreshes
 * them in one call. Still atomic with the write: the refresh runs inside the committing transaction.
 */
export const search0003Deferred = sqlMigration(
  'search-0003-deferred',
  {
    sqlite: [],
    postgresql: [
      'create unlogged table "search_debate_pending" ("txid" xid8 not null, "debate_id" int not null, primary key ("txid", "debate_id"))',
      'create unlogged table "search_debate_pending_tx" ("txid" xid8 primary key)',
      `create or replace function search_enqueue(ids int[]) returns void language plpgsql as $fn$
begin
  if ids is null or cardinality(ids) = 0 then return; end if;
  insert into search_debate_pending (txid, debate_id) select pg_current_xact_id(), i from unnest(ids) as i on conflict do nothing;
  insert into search_debate_pending_tx (txid) values (pg_current_xact_id()) on conflict do nothing;
end
$fn$`,
      `create or replace function search_flush() returns trigger language plpgsql as $fn$
begin
  perform search_refresh(array(select debate_id from search_debate_pending where txid = new.txid));
  delete from search_debate_pending where txid = new.txid;
  delete from search_debate_pending_tx where txid = new.txid;
  return null;
end
$fn$`,
      'create constraint trigger "search_debate_pending_flush" after insert on "search_debate_pending_tx" deferrable initially deferred for each row execute function search_flush()',
      ...REFRESHING_TRIGGERS.map((sql) => sql.replaceAll('perform search_refresh(', 'perform search_enqueue(')),
    ],
  },
  {
    sqlite: [],
    postgresql: [
      ...REFRESHING_TRIGGERS,
      'drop trigger if exists "search_debate_pending_flush" on "search_debate_pending_tx"',
      'drop function if exists search_flush()',
      'drop function if exists search_enqueue(int[])',
      'drop table if exists "search_debate_pending_tx"',
      'drop table if exists "search_debate_pending"',
    ],
  },
);

/*
 * PostgreSQL: the date order of search_debate, so that a broad query's candidate set (its most recent
 * matches, issue #13; docs/search.md § Broad queries) is read by walking the dates instead of sorting
 * every match. SQLite: nothing (its searches stay exact).
 */
export const search0005DateOrder = sqlMigration(
  'search-0005-date-order',
  { sqlite: [], postgresql: ['create index "search_debate_date_idx" on "search_debate" ("date" desc, "debate_id" desc)'] },
  { sqlite: [], postgresql: ['drop index if exists "search_debate_date_idx"'] },
);

/**
 * SQLite: a narrow copy of each debate's date, type and committee (`search_debate_facets`, kept by three
 * row triggers), which a search reads for every match instead of the debate's own wide row — what
 * PostgreSQL's `search_debate` holds beside the document. `audition ministre` (4,929 matches): the
 * statement 26 → 9 ms on 100,000 debates (docs/decisions.md, Transcripts and moment search, 10).
 */
export const SQLITE_FACETS_FILL = 'insert or replace into `search_debate_facets` (debate_id, date, type, commission_id) select id, date, type, commission_id from `debate`';

export const search0006Facets = sqlMigration(
  'search-0006-facets',
  {
    sqlite: [
      // no type on `date`: the value is kept as the debate holds it (the year expression reads both forms)
      'create table `search_debate_facets` (`debate_id` integer primary key, `date`, `type` text not null, `commission_id` integer)',
      SQLITE_FACETS_FILL,
      sqliteTrigger('search_debate_facets_ai', 'after insert on `debate` for each row', [
        'insert or replace into search_debate_facets (debate_id, date, type, commission_id) values (new.id, new.date, new.type, new.commission_id);',
      ]),
      sqliteTrigger('search_debate_facets_au', 'after update of `date`, `type`, `commission_id` on `debate` for each row', [
        'update search_debate_facets set date = new.date, type = new.type, commission_id = new.commission_id where debate_id = new.id;',
      ]),
      sqliteTrigger('search_debate_facets_ad', 'after delete on `debate` for each row', ['delete from search_debate_facets where debate_id = old.id;']),
    ],
    postgresql: [],
  },
  {
    sqlite: ['drop trigger if exists `search_debate_facets_ad`', 'drop trigger if exists `search_debate_facets_au`', 'drop trigger if exists `search_debate_facets_ai`', 'drop table if exists `search_debate_facets`'],
    postgresql: [],
  },
);

export const searchMigrations = [search0001Index, search0002Year, search0003Deferred, search0004Moments, search0005DateOrder, search0006Facets];
