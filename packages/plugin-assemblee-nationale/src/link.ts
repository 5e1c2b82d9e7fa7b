import {
  ConflictError,
  DebateSchema,
  DeputySchema,
  ValidationError,
  slugify,
  toDebateView,
  type Debate,
  type DebateView,
  type Deputy,
  type EntityManager,
  type MediaCandidate,
  type RobianOrm,
} from '@robian/core';
import { SOURCE_ID } from './importer.ts';
import type { VideoResolver } from './video.ts';

export interface LinkVideoResult {
  debate_id: number;
  /** True when no debate had the réunion uid yet and one was made from the video's metadata. */
  created: boolean;
  meeting_id: string;
  page_url: string;
  candidates: MediaCandidate[];
  chapters: number;
  speakers_linked: number;
  /** Speakers the database did not know: created from the NVS names, to be completed by an AMO import. */
  speakers_created: number;
  warnings: string[];
  debate: DebateView;
}

const CIVILITY = /^(M\.|Mme|Mlle|MM\.|Mmes)\s+/;

/** "Mme Constance de Pélichy" → first "Constance", last "de Pélichy". */
export function splitName(name: string): { firstName: string; lastName: string; fullName: string } {
  const bare = name.replace(CIVILITY, '').trim();
  const i = bare.indexOf(' ');
  const firstName = i > 0 ? bare.slice(0, i) : bare;
  const lastName = i > 0 ? bare.slice(i + 1) : bare;
  return { firstName, lastName, fullName: bare };
}

/**
 * Links a video page to its réunion (by the NVS `meeting_id`): stores the page, the MP4, the
 * thumbnail, the chapters and the speakers on the debate. A réunion the agenda import has not seen
 * yet is created from the video's metadata; the next agenda import completes it (same uid).
 */
export async function linkVideo(
  orm: RobianOrm,
  resolver: VideoResolver,
  url: string,
  options: { signal?: AbortSignal; /** The réunion when the NVS names none (a reported fuzzy match). */ meetingId?: string } = {},
): Promise<LinkVideoResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError([{ in: 'body', field: 'url', message: 'expected an http(s) URL' }]);
  }
  if (!resolver.canResolve(parsed)) {
    throw new ValidationError([{ in: 'body', field: 'url', message: 'expected a video page of the Assemblée nationale (…/video.<id>_<hex>…)' }]);
  }
  const media = await resolver.resolve(parsed, options);
  if (!media.meetingExternalId && options.meetingId) media.meetingExternalId = options.meetingId;
  if (!media.meetingExternalId) {
    throw new ValidationError([{ in: 'body', field: 'url', message: 'the video names no réunion (its data.nvs has no meeting_id)' }]);
  }
  const meetingId = media.meetingExternalId;
  const pageUrl = media.pageUrl ?? parsed.href;
  const videoUrl = media.candidates.find((c) => c.kind === 'mp4')?.url ?? media.candidates.find((c) => c.kind === 'hls')?.url ?? null;
  let created = false;
  let speakersCreated = 0;
  const em = orm.em.fork() as unknown as EntityManager;
  const id = await em.transactional(async (tx) => {
    const other = await tx.findOne(DebateSchema, { sourceUrl: pageUrl });
    if (other && !(other.source === SOURCE_ID && other.externalId === meetingId)) throw new ConflictError(`debate ${other.id} already has this video page as source_url`, { field: 'url', existing_id: other.id });
    let debate = (await tx.findOne(DebateSchema, { source: SOURCE_ID, externalId: meetingId }, { populate: ['speakers'] as never })) as Debate | null;
    if (!debate) {
      created = true;
      const date = media.recordedAt ?? new Date();
      debate = tx.create(DebateSchema, {
        source: SOURCE_ID,
        externalId: meetingId,
        title: (media.title ?? `Vidéo ${meetingId}`).slice(0, 1000),
        description: media.description ?? null,
        type: media.debateType ?? 'autre',
        status: 'termine',
        date,
        startTime: media.recordedAt ?? null,
        legislature: media.legislature ?? null,
      } as never) as Debate;
    }
    debate.sourceUrl = pageUrl;
    debate.videoUrl = videoUrl;
    if (media.thumbnailUrl) debate.thumbnailUrl = media.thumbnailUrl;
    if (media.chapters) debate.chapters = media.chapters;
    if (!debate.description && media.description) debate.description = media.description;
    if (debate.status === 'programme' || debate.status === 'en_cours') debate.status = 'termine';
    const speakers = media.speakers ?? [];
    if (speakers.length) {
      const known = await tx.find(DeputySchema, { source: SOURCE_ID, externalId: { $in: speakers.map((s) => s.externalId) } });
      const byId = new Map(known.map((d) => [d.externalId, d]));
      const linked: Deputy[] = [];
      for (const s of speakers) {
        let deputy = byId.get(s.externalId);
        if (!deputy) {
          const n = splitName(s.name);
          deputy = tx.create(DeputySchema, {
            source: SOURCE_ID,
            externalId: s.externalId,
            firstName: n.firstName.slice(0, 255),
            lastName: n.lastName.slice(0, 255),
            fullName: n.fullName.slice(0, 512),
            slug: slugify(n.fullName) || s.externalId.toLowerCase(),
            active: false,
          } as never) as Deputy;
          byId.set(s.externalId, deputy);
          speakersCreated++;
        }
        linked.push(deputy);
      }
      debate.speakers.set(linked as never);
    }
    await tx.flush();
    return debate.id;
  });
  const view = await em.fork().findOne(DebateSchema, { id }, { populate: ['commission', 'speakers', 'audioFiles'] as never });
  return {
    debate_id: id,
    created,
    meeting_id: meetingId,
    page_url: pageUrl,
    candidates: media.candidates,
    chapters: media.chapters?.length ?? 0,
    speakers_linked: media.speakers?.length ?? 0,
    speakers_created: speakersCreated,
    warnings: media.warnings,
    debate: toDebateView(view as Debate),
  };
}
