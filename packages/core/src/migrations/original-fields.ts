import { sqlMigration } from '../db.ts';

/** The original RobianAPI's fields Robian did not store: a debate's ministers and metadata, an audio file's download and stream counts. */
export const core0004OriginalFields = sqlMigration(
  'core-0004-original-fields',
  {
    sqlite: [
      'alter table `debate` add column `ministers` json null',
      'alter table `debate` add column `metadata` json null',
      'alter table `audio_file` add column `download_count` integer not null default 0',
      'alter table `audio_file` add column `stream_count` integer not null default 0',
    ],
    postgresql: [
      'alter table "debate" add column "ministers" jsonb null, add column "metadata" jsonb null',
      'alter table "audio_file" add column "download_count" int not null default 0, add column "stream_count" int not null default 0',
    ],
  },
  {
    sqlite: [
      'alter table `audio_file` drop column `stream_count`',
      'alter table `audio_file` drop column `download_count`',
      'alter table `debate` drop column `metadata`',
      'alter table `debate` drop column `ministers`',
    ],
    postgresql: [
      'alter table "audio_file" drop column "stream_count", drop column "download_count"',
      'alter table "debate" drop column "metadata", drop column "ministers"',
    ],
  },
);
