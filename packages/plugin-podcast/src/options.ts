import { z } from '@robian/core';

const url = z
  .string()
  .url()
  .refine((u) => /^https?:$/.test(new URL(u).protocol), 'expected an http or https URL');

export const podcastOptions = z.object({
  /** The public origin of feed and enclosure URLs (e.g. https://robian.example.org); default: the request's. */
  publicUrl: url.optional(),
  /** Items per feed page (RFC 5005 paged feeds link the next pages). */
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
  /** The channels' artwork; default: a 1400 px PNG drawn by the plugin, at /feeds/artwork.png. */
  imageUrl: url.optional(),
  ownerName: z.string().trim().min(1).max(200).default('Robian'),
  ownerEmail: z.string().trim().email().default('podcasts@example.org'),
  /** Apple's category (https://podcasters.apple.com/support/1691-apple-podcasts-categories). */
  category: z.string().trim().min(1).max(100).default('Government'),
  /** How long an enclosure's signed URL lives (REQUIRE_SIGNED_URLS=true); derived from the file, so stable. */
  enclosureTtlDays: z.coerce.number().int().min(1).max(36_500).default(3650),
  /** How long a feed is cached (seconds). */
  cacheSeconds: z.coerce.number().int().min(0).max(86_400).default(300),
  /**
   * The live items' window (hours): a scheduled sitting is a `pending` live item from this long before
   * its start, and one that left the air stays an `ended` live item this long (until its recording is an item).
   */
  liveWindowHours: z.coerce.number().int().min(1).max(168).default(24),
});
export type PodcastOptions = z.output<typeof podcastOptions>;

export const podcastEnv = {
  publicUrl: 'PODCAST_PUBLIC_URL',
  pageSize: 'PODCAST_PAGE_SIZE',
  imageUrl: 'PODCAST_IMAGE_URL',
  ownerName: 'PODCAST_OWNER_NAME',
  ownerEmail: 'PODCAST_OWNER_EMAIL',
  category: 'PODCAST_CATEGORY',
  enclosureTtlDays: 'PODCAST_ENCLOSURE_TTL_DAYS',
  cacheSeconds: 'PODCAST_CACHE_SECONDS',
  liveWindowHours: 'PODCAST_LIVE_WINDOW_HOURS',
} as const;
