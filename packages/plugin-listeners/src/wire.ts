import { canonicalInt, dateInput, debateView, idInput, z } from '@robian/core';

const DEVICE_NAME = z.string().trim().min(1).max(100);

export const deviceBody = z.object({ device_name: DEVICE_NAME.optional() }).strict().meta({ id: 'DeviceRegistration' });
export const refreshBody = z.object({ refresh_token: z.string().min(1).max(200) }).strict().meta({ id: 'RefreshRequest' });
export const logoutBody = z
  .object({
    refresh_token: z.string().min(1).max(200).optional(),
    all_devices: z.boolean().optional().meta({ description: 'End every session of the account, not only this one' }),
  })
  .strict()
  .meta({ id: 'LogoutRequest' });
export const redeemBody = z
  .object({ code: z.string().min(1).max(32).meta({ example: 'K7QX-3MZ9TA' }), device_name: DEVICE_NAME.optional() })
  .strict()
  .meta({ id: 'LinkRedeem' });

export const tokenPairView = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().meta({ description: 'Seconds the access token is valid' }),
    refresh_token: z.string(),
    refresh_token_expires_in: z.number().int(),
    account_id: z.string(),
    session_id: z.string(),
  })
  .meta({ id: 'TokenPair' });

export const linkCodeView = z
  .object({ code: z.string(), expires_at: z.string(), expires_in: z.number().int(), max_attempts: z.number().int() })
  .meta({ id: 'LinkCode' });

export const sessionView = z
  .object({ id: z.string(), device_name: z.string().nullable(), created_at: z.string(), last_used_at: z.string(), current: z.boolean() })
  .meta({ id: 'ListenerSession' });

export const meView = z
  .object({
    id: z.string(),
    created_at: z.string(),
    sessions: z.array(sessionView),
    collections_count: z.number().int(),
    favorites_count: z.number().int(),
    progress_count: z.number().int(),
  })
  .meta({ id: 'Me' });

export const debateIdParams = z.object({ debate_id: canonicalInt(1, 2 ** 31 - 1) });
export const collectionParams = z.object({ id: canonicalInt(1, 2 ** 31 - 1) });
export const collectionDebateParams = collectionParams.extend(debateIdParams.shape);

const color = z
  .string()
  .trim()
  .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/, 'expected a colour such as #1e88e5');
const icon = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'expected an icon name: lower-case letters, digits, - and _');

const collectionFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().trim().max(2000).nullable().optional(),
  color: color.nullable().optional(),
  icon: icon.nullable().optional(),
  sort_order: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  is_public: z.boolean().optional(),
};
export const collectionCreateBody = z.object(collectionFields).strict().meta({ id: 'CollectionCreate' });
export const collectionUpdateBody = z
  .object({ ...collectionFields, name: collectionFields.name.optional() })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'send at least one field to change' })
  .meta({ id: 'CollectionUpdate' });
export const collectionAddBody = z
  .object({ position: z.number().int().min(0).max(1_000_000).optional().meta({ description: 'Where to insert (0 = first); appended when absent' }) })
  .strict()
  .meta({ id: 'CollectionAdd' });
export const collectionOrderBody = z
  .object({ debate_ids: z.array(idInput).max(10_000) })
  .strict()
  .meta({ id: 'CollectionOrder', description: 'Every debate of the collection, in the wanted order' });

export const collectionView = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    color: z.string().nullable(),
    icon: z.string().nullable(),
    sort_order: z.number().int(),
    is_public: z.boolean(),
    is_owner: z.boolean(),
    debate_count: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Collection' });
export const collectionItemView = z
  .object({ position: z.number().int(), added_at: z.string(), debate: debateView })
  .meta({ id: 'CollectionItem' });
export const collectionDetailView = collectionView.extend({ debates: z.array(collectionItemView) }).meta({ id: 'CollectionDetail' });
export const collectionListView = z.object({ collections: z.array(collectionView), total: z.number().int() }).meta({ id: 'CollectionList' });

const tag = z.string().trim().min(1).max(50);
export const favoriteBody = z
  .object({ note: z.string().trim().max(2000).nullable().optional(), tags: z.array(tag).max(20).nullable().optional() })
  .strict()
  .meta({ id: 'FavoriteInput' });
export const favoriteView = z
  .object({ debate_id: z.string(), note: z.string().nullable(), tags: z.array(z.string()), created_at: z.string(), updated_at: z.string(), debate: debateView })
  .meta({ id: 'Favorite' });
export const pageQuery = z.object({
  page: canonicalInt(1, 1_000_000).default(1),
  per_page: canonicalInt(1, 100).default(50),
});
export const favoriteListView = z
  .object({ favorites: z.array(favoriteView), total: z.number().int(), page: z.number().int(), per_page: z.number().int(), has_next: z.boolean() })
  .meta({ id: 'FavoriteList' });

export const progressBody = z
  .object({
    position_seconds: z.number().min(0).max(7 * 24 * 3600),
    rendition: z
      .string()
      .trim()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/, 'expected a rendition name such as mp3-128k')
      .nullable()
      .optional(),
    updated_at: dateInput.optional().meta({ description: "The device's time of the position; the latest write wins. Defaults to the server's time." }),
  })
  .strict()
  .meta({ id: 'ProgressInput' });
export const progressView = z
  .object({
    debate_id: z.string(),
    position_seconds: z.number(),
    rendition: z.string().nullable(),
    updated_at: z.string(),
    applied: z.boolean().optional().meta({ description: 'false when a newer position was already stored (this write was older and is ignored)' }),
  })
  .meta({ id: 'Progress' });
export const progressListView = z
  .object({ progress: z.array(progressView.extend({ debate_title: z.string() })), total: z.number().int(), page: z.number().int(), per_page: z.number().int(), has_next: z.boolean() })
  .meta({ id: 'ProgressList' });
