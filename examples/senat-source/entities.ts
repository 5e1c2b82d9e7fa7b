import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { DebateSchema } from '@robian/core';

const p = defineEntity.properties;

/** A live flux of the Sénat's platform, as last seen in its live list, and the debate it feeds. */
export const SenatStreamSchema = defineEntity({
  name: 'SenatStream',
  tableName: 'senat_stream',
  properties: {
    id: p.integer().primary().autoincrement(),
    flux: p.string().length(64).unique('senat_stream_flux_unique'),
    mediaId: p.string().length(64),
    nid: p.string().length(64).nullable(),
    streamUrl: p.string().length(2048).nullable(),
    debate: () => p.manyToOne(DebateSchema).deleteRule('cascade').index('senat_stream_debate_idx'),
    lastSeenAt: p.datetime(),
  },
});
export type SenatStream = InferEntity<typeof SenatStreamSchema>;
