import { sqlMigration } from '../db.ts';

/** The cache_generation table: what tells a memory-only cache that another process wrote (cache-generations.ts). */
export const core0005CacheGeneration = sqlMigration(
  'core-0005-cache-generation',
  {
    sqlite: ['create table `cache_generation` (`namespace` text not null primary key, `generation` integer not null default 0)'],
    postgresql: ['create table "cache_generation" ("namespace" varchar(128) not null, "generation" int not null default 0, primary key ("namespace"))'],
  },
  { sqlite: ['drop table if exists `cache_generation`'], postgresql: ['drop table if exists "cache_generation" cascade'] },
);
