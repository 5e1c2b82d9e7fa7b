import { sqlMigration } from '../db.ts';

/** The scheduled_task table: one row per periodic task, its lease and its last run (see tasks.ts). */
export const core0003ScheduledTask = sqlMigration(
  'core-0003-scheduled-task',
  {
    sqlite: [
      "create table `scheduled_task` (`name` text not null primary key, `owner` text null, `lease_expires_at` datetime null, `next_run_at` datetime not null, `last_started_at` datetime null, `last_finished_at` datetime null, `last_outcome` text null, `last_error` text null, `last_duration_ms` integer null, `last_summary` json null, `state` json null, `runs` integer not null default 0, `failures` integer not null default 0, `updated_at` datetime not null)",
    ],
    postgresql: [
      'create table "scheduled_task" ("name" varchar(128) not null, "owner" varchar(128) null, "lease_expires_at" timestamptz null, "next_run_at" timestamptz not null, "last_started_at" timestamptz null, "last_finished_at" timestamptz null, "last_outcome" varchar(16) null, "last_error" text null, "last_duration_ms" int null, "last_summary" jsonb null, "state" jsonb null, "runs" int not null default 0, "failures" int not null default 0, "updated_at" timestamptz not null, primary key ("name"))',
    ],
  },
  { sqlite: ['drop table if exists `scheduled_task`'], postgresql: ['drop table if exists "scheduled_task" cascade'] },
);
