import { z } from '@robian/core';

const endpoint = z
  .string()
  .url()
  .refine((u) => /^https?:$/.test(new URL(u).protocol), 'expected an http or https URL');

export const webhookOptions = z.object({
  /** Where to POST: set by the operator (comma-separated in WEBHOOK_URLS), never by API callers. */
  urls: z.union([z.array(endpoint), z.string()]).transform((v, ctx) => {
    const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v;
    for (const url of list) {
      const checked = endpoint.safeParse(url);
      if (!checked.success) ctx.addIssue({ code: 'custom', message: `${url}: expected an http or https URL` });
    }
    return list;
  }).default([]),
  /** The HMAC-SHA256 key receivers verify `X-Robian-Signature` with. */
  secret: z.string().min(16, 'at least 16 characters'),
  /** Attempts before a delivery is marked failed. */
  maxAttempts: z.coerce.number().int().min(1).max(50).default(6),
  /** Wait before the second attempt; doubles at each failure (capped at one hour). */
  retryBaseMs: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
  /** How often due deliveries are looked for. */
  pollMs: z.coerce.number().int().min(10).max(60_000).default(1_000),
  /** One attempt's time limit. */
  timeoutMs: z.coerce.number().int().min(100).max(60_000).default(10_000),
});
export type WebhookOptions = z.output<typeof webhookOptions>;

export const webhookEnv = {
  urls: 'WEBHOOK_URLS',
  secret: 'WEBHOOK_SECRET',
  maxAttempts: 'WEBHOOK_MAX_ATTEMPTS',
  retryBaseMs: 'WEBHOOK_RETRY_BASE_MS',
  pollMs: 'WEBHOOK_POLL_MS',
  timeoutMs: 'WEBHOOK_TIMEOUT_MS',
} as const;
