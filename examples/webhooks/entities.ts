import { defineEntity, type InferEntity } from '@mikro-orm/core';

const p = defineEntity.properties;

/** One event to deliver to one endpoint: written before the first attempt, so a restart loses none. */
export const WebhookDeliverySchema = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_delivery',
  properties: {
    id: p.integer().primary().autoincrement(),
    event: p.string().length(64),
    url: p.string().length(2048),
    payload: p.text(),
    /** pending → sending → delivered, or back to pending with a later `nextAttemptAt`, or failed. */
    status: p.string().length(16).default('pending'),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime(),
    lastError: p.string().length(500).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    deliveredAt: p.datetime().nullable(),
  },
  indexes: [{ name: 'webhook_delivery_due_idx', properties: ['status', 'nextAttemptAt'] }],
});
export type WebhookDelivery = InferEntity<typeof WebhookDeliverySchema>;
