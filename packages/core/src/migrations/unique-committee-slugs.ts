import { sqlMigration } from '../db.ts';

/**
 * Committee slugs become unique: of the committees sharing one (the demo's `finances` and the real
 * import's), the oldest keeps it and the others get `<slug>-<uid in lower case>`, the rule the
 * importers follow from now on (named.ts `uniqueSlugs`).
 */
export const core0006UniqueCommitteeSlugs = sqlMigration(
  'core-0006-unique-committee-slugs',
  {
    sqlite: [
      "update `commission` set `slug` = `slug` || '-' || lower(`external_id`) where exists (select 1 from `commission` `o` where `o`.`slug` = `commission`.`slug` and `o`.`id` < `commission`.`id`)",
      'drop index if exists `commission_slug_idx`',
      'create unique index `commission_slug_unique` on `commission` (`slug`)',
    ],
    postgresql: [
      'update "commission" set "slug" = "slug" || \'-\' || lower("external_id") where exists (select 1 from "commission" "o" where "o"."slug" = "commission"."slug" and "o"."id" < "commission"."id")',
      'drop index if exists "commission_slug_idx"',
      'alter table "commission" add constraint "commission_slug_unique" unique ("slug")',
    ],
  },
  {
    sqlite: ['drop index if exists `commission_slug_unique`', 'create index `commission_slug_idx` on `commission` (`slug`)'],
    postgresql: ['alter table "commission" drop constraint if exists "commission_slug_unique"', 'create index "commission_slug_idx" on "commission" ("slug")'],
  },
);
