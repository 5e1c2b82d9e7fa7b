import { z } from '@robian/core';

export const senatOptions = z.object({
  /** The platform's base URL: its host (and port) is the only one fetched. */
  baseUrl: z
    .string()
    .url()
    .refine((u) => /^https?:$/.test(new URL(u).protocol), 'expected an http or https URL')
    .transform((u) => (u.endsWith('/') ? u : `${u}/`))
    .default('https://videos.senat.fr/'),
  timeoutMs: z.coerce.number().int().min(100).max(120_000).default(15_000),
});
export type SenatOptions = z.output<typeof senatOptions>;

export const senatEnv = { baseUrl: 'SENAT_BASE_URL', timeoutMs: 'SENAT_TIMEOUT_MS' } as const;
