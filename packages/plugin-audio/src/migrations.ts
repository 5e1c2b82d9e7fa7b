import { sqlMigration } from '@robian/core';

/** The extraction job table (generated from ExtractionJobSchema by packages/core/scripts/print-schema.ts). */
export const audio0001ExtractionJob = sqlMigration(
  "audio-0001-extraction-job",
  {
    sqlite: [
      "create table `audio_extraction_job` (`id` integer not null primary key autoincrement, `debate_id` integer not null, `format` text not null, `quality` text not null, `status` text not null default 'queued', `priority` integer not null default 1, `progress` double not null default 0, `attempts` integer not null default 0, `error` text null, `owner` text null, `lease_expires_at` datetime null, `run_after` datetime null, `started_at` datetime null, `finished_at` datetime null, `created_at` datetime not null, `updated_at` datetime not null, constraint `audio_extraction_job_debate_id_foreign` foreign key (`debate_id`) references `debate` (`id`) on delete cascade)",
      "create index `audio_extraction_job_debate_id_index` on `audio_extraction_job` (`debate_id`)",
      "create index `audio_extraction_job_status_idx` on `audio_extraction_job` (`status`, `priority`)",
      "create unique index `audio_extraction_job_rendition_unique` on `audio_extraction_job` (`debate_id`, `format`, `quality`)",
    ],
    postgresql: [
      "create table \"audio_extraction_job\" (\"id\" serial primary key, \"debate_id\" int not null, \"format\" varchar(16) not null, \"quality\" varchar(16) not null, \"status\" varchar(16) not null default 'queued', \"priority\" int not null default 1, \"progress\" double precision not null default 0, \"attempts\" int not null default 0, \"error\" text null, \"owner\" varchar(128) null, \"lease_expires_at\" timestamptz null, \"run_after\" timestamptz null, \"started_at\" timestamptz null, \"finished_at\" timestamptz null, \"created_at\" timestamptz not null, \"updated_at\" timestamptz not null)",
      "create index \"audio_extraction_job_status_idx\" on \"audio_extraction_job\" (\"status\", \"priority\")",
      "alter table \"audio_extraction_job\" add constraint \"audio_extraction_job_rendition_unique\" unique (\"debate_id\", \"format\", \"quality\")",
      "alter table \"audio_extraction_job\" add constraint \"audio_extraction_job_debate_id_foreign\" foreign key (\"debate_id\") references \"debate\" (\"id\") on delete cascade",
    ],
  },
  { sqlite: ["drop table if exists `audio_extraction_job`"], postgresql: ["drop table if exists \"audio_extraction_job\" cascade"] },
);

/** Plays and listening time per debate and day (AudioPlayDailySchema; docs/operations.md § Metrics). */
export const audio0002PlayDaily = sqlMigration(
  'audio-0002-play-daily',
  {
    sqlite: [
      "create table `audio_play_daily` (`debate_id` integer not null, `day` text not null, `plays` integer not null default 0, `listened_seconds` double not null default 0, primary key (`debate_id`, `day`), constraint `audio_play_daily_debate_id_foreign` foreign key (`debate_id`) references `debate` (`id`) on delete cascade)",
      "create index `audio_play_daily_debate_id_index` on `audio_play_daily` (`debate_id`)",
    ],
    postgresql: [
      'create table "audio_play_daily" ("debate_id" int not null, "day" varchar(10) not null, "plays" int not null default 0, "listened_seconds" double precision not null default 0, primary key ("debate_id", "day"))',
      'alter table "audio_play_daily" add constraint "audio_play_daily_debate_id_foreign" foreign key ("debate_id") references "debate" ("id") on delete cascade',
    ],
  },
  { sqlite: ['drop table if exists `audio_play_daily`'], postgresql: ['drop table if exists "audio_play_daily" cascade'] },
);

export const audioMigrations = [audio0001ExtractionJob, audio0002PlayDaily];
