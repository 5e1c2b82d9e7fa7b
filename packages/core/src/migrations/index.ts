import { sqlMigration } from '../db.ts';
import { core0005CacheGeneration } from './cache-generation.ts';
import { core0003ScheduledTask } from './scheduled-task.ts';
import { core0006UniqueCommitteeSlugs } from './unique-committee-slugs.ts';
import { core0004OriginalFields } from './original-fields.ts';

/** The core tables: commission, deputy, debate (+ speakers) and audio_file. */
export const core0001Initial = sqlMigration(
  'core-0001-initial',
  {
    sqlite: [
      "create table `commission` (`id` integer not null primary key autoincrement, `source` text not null, `external_id` text not null, `name` text not null, `short_name` text null, `slug` text not null, `kind` text null, `active` integer not null default true, `created_at` datetime not null, `updated_at` datetime not null)",
      "create index `commission_slug_idx` on `commission` (`slug`)",
      "create unique index `commission_source_external_id_unique` on `commission` (`source`, `external_id`)",
      "create table `debate` (`id` integer not null primary key autoincrement, `source` text not null default 'manual', `external_id` text null, `title` text not null, `description` text null, `type` text check (`type` in ('seance_publique', 'commission', 'audition', 'question_gouvernement', 'autre')) not null default 'autre', `status` text check (`status` in ('programme', 'en_cours', 'termine', 'disponible', 'extraction', 'erreur')) not null default 'programme', `date` datetime not null, `start_time` datetime null, `end_time` datetime null, `duration_minutes` integer null, `location` text null, `legislature` integer null, `source_url` text null, `video_url` text null, `thumbnail_url` text null, `agenda_points` json null, `keywords` json null, `tags` json null, `chapters` json null, `commission_id` integer null, `has_audio` integer not null default false, `view_count` integer not null default 0, `created_at` datetime not null, `updated_at` datetime not null, constraint `debate_commission_id_foreign` foreign key (`commission_id`) references `commission` (`id`) on delete set null)",
      "create index `debate_date_idx` on `debate` (`date`)",
      "create unique index `debate_source_url_unique` on `debate` (`source_url`)",
      "create index `debate_commission_idx` on `debate` (`commission_id`)",
      "create index `debate_type_idx` on `debate` (`type`)",
      "create index `debate_status_idx` on `debate` (`status`)",
      "create index `debate_created_at_idx` on `debate` (`created_at`)",
      "create unique index `debate_source_external_id_unique` on `debate` (`source`, `external_id`)",
      "create table `audio_file` (`id` integer not null primary key autoincrement, `debate_id` integer not null, `format` text not null, `quality` text not null, `storage_key` text not null, `mime_type` text not null, `file_size` bigint not null default '0', `duration_seconds` double null, `checksum` text null, `last_played_at` datetime null, `created_at` datetime not null, `updated_at` datetime not null, constraint `audio_file_debate_id_foreign` foreign key (`debate_id`) references `debate` (`id`) on delete cascade)",
      "create index `audio_file_debate_id_index` on `audio_file` (`debate_id`)",
      "create unique index `audio_file_debate_rendition_unique` on `audio_file` (`debate_id`, `format`, `quality`)",
      "create table `deputy` (`id` integer not null primary key autoincrement, `source` text not null, `external_id` text not null, `first_name` text not null, `last_name` text not null, `full_name` text not null, `slug` text not null, `political_group` text null, `political_group_short` text null, `active` integer not null default true, `created_at` datetime not null, `updated_at` datetime not null)",
      "create index `deputy_slug_idx` on `deputy` (`slug`)",
      "create unique index `deputy_source_external_id_unique` on `deputy` (`source`, `external_id`)",
      "create table `debate_speaker` (`debate_id` integer not null, `deputy_id` integer not null, primary key (`debate_id`, `deputy_id`), constraint `debate_speaker_debate_id_foreign` foreign key (`debate_id`) references `debate` (`id`) on update cascade on delete cascade, constraint `debate_speaker_deputy_id_foreign` foreign key (`deputy_id`) references `deputy` (`id`) on update cascade on delete cascade)",
      "create index `debate_speaker_debate_id_index` on `debate_speaker` (`debate_id`)",
      "create index `debate_speaker_deputy_id_index` on `debate_speaker` (`deputy_id`)",
    ],
    postgresql: [
      "create table \"commission\" (\"id\" serial primary key, \"source\" varchar(64) not null, \"external_id\" varchar(128) not null, \"name\" varchar(512) not null, \"short_name\" varchar(255) null, \"slug\" varchar(255) not null, \"kind\" varchar(64) null, \"active\" boolean not null default true, \"created_at\" timestamptz not null, \"updated_at\" timestamptz not null)",
      "create index \"commission_slug_idx\" on \"commission\" (\"slug\")",
      "alter table \"commission\" add constraint \"commission_source_external_id_unique\" unique (\"source\", \"external_id\")",
      "create table \"debate\" (\"id\" serial primary key, \"source\" varchar(64) not null default 'manual', \"external_id\" varchar(128) null, \"title\" varchar(1000) not null, \"description\" text null, \"type\" text not null default 'autre', \"status\" text not null default 'programme', \"date\" timestamptz not null, \"start_time\" timestamptz null, \"end_time\" timestamptz null, \"duration_minutes\" int null, \"location\" varchar(255) null, \"legislature\" int null, \"source_url\" varchar(2048) null, \"video_url\" varchar(2048) null, \"thumbnail_url\" varchar(2048) null, \"agenda_points\" jsonb null, \"keywords\" jsonb null, \"tags\" jsonb null, \"chapters\" jsonb null, \"commission_id\" int null, \"has_audio\" boolean not null default false, \"view_count\" int not null default 0, \"created_at\" timestamptz not null, \"updated_at\" timestamptz not null)",
      "create index \"debate_date_idx\" on \"debate\" (\"date\")",
      "alter table \"debate\" add constraint \"debate_source_url_unique\" unique (\"source_url\")",
      "create index \"debate_commission_idx\" on \"debate\" (\"commission_id\")",
      "create index \"debate_type_idx\" on \"debate\" (\"type\")",
      "create index \"debate_status_idx\" on \"debate\" (\"status\")",
      "create index \"debate_created_at_idx\" on \"debate\" (\"created_at\")",
      "alter table \"debate\" add constraint \"debate_source_external_id_unique\" unique (\"source\", \"external_id\")",
      "alter table \"debate\" add constraint \"debate_type_check\" check (\"type\" in ('seance_publique', 'commission', 'audition', 'question_gouvernement', 'autre'))",
      "alter table \"debate\" add constraint \"debate_status_check\" check (\"status\" in ('programme', 'en_cours', 'termine', 'disponible', 'extraction', 'erreur'))",
      "create table \"audio_file\" (\"id\" serial primary key, \"debate_id\" int not null, \"format\" varchar(16) not null, \"quality\" varchar(16) not null, \"storage_key\" varchar(512) not null, \"mime_type\" varchar(64) not null, \"file_size\" bigint not null default '0', \"duration_seconds\" double precision null, \"checksum\" varchar(128) null, \"last_played_at\" timestamptz null, \"created_at\" timestamptz not null, \"updated_at\" timestamptz not null)",
      "alter table \"audio_file\" add constraint \"audio_file_debate_rendition_unique\" unique (\"debate_id\", \"format\", \"quality\")",
      "create table \"deputy\" (\"id\" serial primary key, \"source\" varchar(64) not null, \"external_id\" varchar(128) not null, \"first_name\" varchar(255) not null, \"last_name\" varchar(255) not null, \"full_name\" varchar(512) not null, \"slug\" varchar(255) not null, \"political_group\" varchar(512) null, \"political_group_short\" varchar(64) null, \"active\" boolean not null default true, \"created_at\" timestamptz not null, \"updated_at\" timestamptz not null)",
      "create index \"deputy_slug_idx\" on \"deputy\" (\"slug\")",
      "alter table \"deputy\" add constraint \"deputy_source_external_id_unique\" unique (\"source\", \"external_id\")",
      "create table \"debate_speaker\" (\"debate_id\" int not null, \"deputy_id\" int not null, primary key (\"debate_id\", \"deputy_id\"))",
      "alter table \"debate\" add constraint \"debate_commission_id_foreign\" foreign key (\"commission_id\") references \"commission\" (\"id\") on delete set null",
      "alter table \"audio_file\" add constraint \"audio_file_debate_id_foreign\" foreign key (\"debate_id\") references \"debate\" (\"id\") on delete cascade",
      "alter table \"debate_speaker\" add constraint \"debate_speaker_debate_id_foreign\" foreign key (\"debate_id\") references \"debate\" (\"id\") on update cascade on delete cascade",
      "alter table \"debate_speaker\" add constraint \"debate_speaker_deputy_id_foreign\" foreign key (\"deputy_id\") references \"deputy\" (\"id\") on update cascade on delete cascade",
    ],
  },
  {
    sqlite: ['drop table if exists `debate_speaker`', 'drop table if exists `audio_file`', 'drop table if exists `debate`', 'drop table if exists `deputy`', 'drop table if exists `commission`'],
    postgresql: ['drop table if exists "debate_speaker" cascade', 'drop table if exists "audio_file" cascade', 'drop table if exists "debate" cascade', 'drop table if exists "deputy" cascade', 'drop table if exists "commission" cascade'],
  },
);

/** Transcript segments (entities.ts `TranscriptSegmentSchema`; transcripts.ts). */
export const core0002Transcripts = sqlMigration(
  'core-0002-transcripts',
  {
    sqlite: [
      "create table `transcript_segment` (`id` integer not null primary key autoincrement, `debate_id` integer not null, `source` text not null, `position` integer not null, `start_seconds` double not null, `end_seconds` double not null, `speaker_name` text null, `deputy_id` integer null, `text` text not null, `created_at` datetime not null, constraint `transcript_segment_debate_id_foreign` foreign key (`debate_id`) references `debate` (`id`) on delete cascade, constraint `transcript_segment_deputy_id_foreign` foreign key (`deputy_id`) references `deputy` (`id`) on delete set null)",
      "create index `transcript_segment_debate_id_index` on `transcript_segment` (`debate_id`)",
      "create index `transcript_segment_deputy_idx` on `transcript_segment` (`deputy_id`)",
      "create unique index `transcript_segment_debate_source_position_unique` on `transcript_segment` (`debate_id`, `source`, `position`)",
    ],
    postgresql: [
      'create table "transcript_segment" ("id" serial primary key, "debate_id" int not null, "source" varchar(32) not null, "position" int not null, "start_seconds" double precision not null, "end_seconds" double precision not null, "speaker_name" varchar(512) null, "deputy_id" int null, "text" text not null, "created_at" timestamptz not null)',
      'create index "transcript_segment_deputy_idx" on "transcript_segment" ("deputy_id")',
      'alter table "transcript_segment" add constraint "transcript_segment_debate_source_position_unique" unique ("debate_id", "source", "position")',
      'alter table "transcript_segment" add constraint "transcript_segment_debate_id_foreign" foreign key ("debate_id") references "debate" ("id") on delete cascade',
      'alter table "transcript_segment" add constraint "transcript_segment_deputy_id_foreign" foreign key ("deputy_id") references "deputy" ("id") on delete set null',
    ],
  },
  {
    sqlite: ['drop table if exists `transcript_segment`'],
    postgresql: ['drop table if exists "transcript_segment" cascade'],
  },
);

export const coreMigrations = [core0001Initial, core0002Transcripts, core0003ScheduledTask, core0004OriginalFields, core0005CacheGeneration, core0006UniqueCommitteeSlugs];
