import { sqlMigration } from '@robian/core';

/** The flux table, for both storage modes (the example's test checks it against the entity). */
export const senat0001 = sqlMigration('senat-0001-streams', {
  sqlite: [
    'create table `senat_stream` (`id` integer not null primary key autoincrement, `flux` text not null, `media_id` text not null, `nid` text null, `stream_url` text null, `debate_id` integer not null, `last_seen_at` datetime not null, constraint `senat_stream_debate_id_foreign` foreign key (`debate_id`) references `debate` (`id`) on delete cascade)',
    'create unique index `senat_stream_flux_unique` on `senat_stream` (`flux`)',
    'create index `senat_stream_debate_idx` on `senat_stream` (`debate_id`)',
  ],
  postgresql: [
    'create table "senat_stream" ("id" serial primary key, "flux" varchar(64) not null, "media_id" varchar(64) not null, "nid" varchar(64) null, "stream_url" varchar(2048) null, "debate_id" int not null, "last_seen_at" timestamptz not null)',
    'alter table "senat_stream" add constraint "senat_stream_flux_unique" unique ("flux")',
    'create index "senat_stream_debate_idx" on "senat_stream" ("debate_id")',
    'alter table "senat_stream" add constraint "senat_stream_debate_id_foreign" foreign key ("debate_id") references "debate" ("id") on delete cascade',
  ],
});
