// A plugin written outside Robian that listens to events and adds a route: when a debate's audio is
// ready, every endpoint the operator configured receives a signed POST, retried until it answers 2xx.
// The shape of plugin API v2: `setup` builds the domain object and returns its start/stop/health.
import { PLUGIN_API_VERSION, definePlugin } from '@robian/core';
import { Deliveries } from './deliveries.ts';
import { WebhookDeliverySchema } from './entities.ts';
import { webhooks0001 } from './migrations.ts';
import { webhookEnv, webhookOptions } from './options.ts';

export const webhooksPlugin = definePlugin({
  name: 'webhooks',
  version: '1.0.0',
  apiVersion: PLUGIN_API_VERSION,
  description: 'Signed "new audio" webhooks, stored and retried with backoff',
  options: webhookOptions,
  env: webhookEnv,
  entities: [WebhookDeliverySchema],
  migrations: [webhooks0001],
  setup(ctx) {
    const deliveries = new Deliveries(ctx);
    deliveries.register();
    return { start: () => deliveries.start(), stop: () => deliveries.stop(), health: () => deliveries.health() };
  },
});

export { signPayload, verifySignature } from './signature.ts';
