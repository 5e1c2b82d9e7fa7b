import { sqlMigration } from '@robian/core';

/** The deliveries table, for both storage modes (the example's test checks it against the entity). */
export const webhooks0001 = sqlMigration('webhooks-0001-deliveries', {
  sqlite: [
    'create table `webhook_delivery` (`id` integer not null primary key autoincrement, `event` text not null, `url` text not null, `payload` text not null, `status` text not null default \'pending\', `attempts` integer not null default 0, `next_attempt_at` datetime not null, `last_error` text null, `created_at` datetime not null, `delivered_at` datetime null)',
    'create index `webhook_delivery_due_idx` on `webhook_delivery` (`status`, `next_attempt_at`)',
  ],
  postgresql: [
    'create table "webhook_delivery" ("id" serial primary key, "event" varchar(64) not null, "url" varchar(2048) not null, "payload" text not null, "status" varchar(16) not null default \'pending\', "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "last_error" varchar(500) null, "created_at" timestamptz not null, "delivered_at" timestamptz null)',
    'create index "webhook_delivery_due_idx" on "webhook_delivery" ("status", "next_attempt_at")',
  ],
});
