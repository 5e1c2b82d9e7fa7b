import type { Logger } from '@robian/core';
import { FORMATS, QUALITIES, storageKey, type AudioFormat } from './renditions.ts';
import type { ExtractionScheduler } from './scheduler.ts';
import type { AudioLibrary } from './service.ts';
import type { AudioStorage } from './storage.ts';

/**
 * What deleting a debate does to its audio (`debate.deleted`): its jobs running here are stopped
 * (their rows went with the debate; another instance's job loses its lease row and stops at its next
 * renewal), every rendition file is removed from storage, and the playable cache forgets it on every
 * instance (`forgetEverywhere`: a cache namespace's invalidation, so Redis pub/sub or, without Redis,
 * the database's cache generations).
 */
export async function removeDebateAudio(o: { debateId: number; storage: AudioStorage; library: AudioLibrary; scheduler: ExtractionScheduler | undefined; logger: Logger }): Promise<number> {
  const { debateId } = o;
  o.library.forget(debateId);
  await o.scheduler?.abortDebate(debateId);
  let removed = 0;
  for (const format of FORMATS as readonly AudioFormat[]) {
    for (const quality of QUALITIES[format]) {
      if (await o.storage.delete(storageKey(debateId, { format, quality }))) removed++;
    }
  }
  // other instances keep what they found playable for a few seconds: they forget it now
  await o.library.forgetEverywhere(debateId);
  if (removed) o.logger.info({ debate_id: debateId, files: removed }, 'audio of a deleted debate removed');
  return removed;
}
