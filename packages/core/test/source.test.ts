import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SourceRegistry, chapterSchema, debateCreateSchema, type DebateSource, type ImportCompletedEvent, type ResolvedMedia } from '@robian/core';

function source(id: string, hosts: string[]): DebateSource {
  return {
    id,
    name: id,
    mediaHosts: hosts,
    canResolve: (url) => hosts.includes(url.hostname),
    resolve: async (): Promise<ResolvedMedia> => ({
      candidates: [
        { url: 'https://a.example/x.mp3', kind: 'mp3', audioCodec: 'mp3', origin: 'nvs:audio', verified: false },
        { url: 'https://a.example/x.mp4', kind: 'mp4', audioCodec: 'aac' },
      ],
      speakers: [{ externalId: 'PA1', name: 'A B' }],
      chapters: [{ title: 'Outline only', start_seconds: null, level: 1, kind: 'Intervention' }],
      meetingExternalId: 'RU1',
    }),
  };
}

describe('the DebateSource contract', () => {
  it('registers sources, finds one for a URL and builds the host allow-list', async () => {
    const registry = new SourceRegistry();
    const dispose = registry.register(source('an', ['Videos.Example']), 'plugin-an');
    registry.register(source('senat', ['videos.senat.example']), 'plugin-senat');
    assert.throws(() => registry.register(source('an', []), 'other'), /already registered by plugin "plugin-an"/);
    assert.throws(() => registry.register(source('Bad Id', []), 'other'), /lower-case/);
    assert.deepEqual(registry.mediaHosts().sort(), ['videos.example', 'videos.senat.example']);
    assert.equal(registry.forUrl(new URL('https://videos.senat.example/v/1'))?.id, 'senat');
    const media = await registry.get('an')!.resolve(new URL('https://videos.example/v'));
    assert.equal(media.candidates[0]!.verified, false);
    dispose();
    assert.equal(registry.get('an'), undefined);
  });

  it('accepts chapters without times (an outline) on the wire, with level and kind', () => {
    assert.ok(chapterSchema.safeParse({ title: 'Mme X', start_seconds: null, level: 3, kind: 'Intervention', speaker_external_id: 'PA1' }).success);
    assert.ok(chapterSchema.safeParse({ title: 'Timed', start_seconds: 12.5 }).success);
    assert.equal(chapterSchema.safeParse({ title: 'Bad', start_seconds: -1 }).success, false);
    assert.equal(chapterSchema.safeParse({ title: 'Bad', start_seconds: null, level: -1 }).success, false);
    const created = debateCreateSchema.safeParse({ title: 'T', date: '2025-06-05', chapters: [{ title: 'c', start_seconds: null }] });
    assert.ok(created.success);
  });

  it('names what an import changed for listeners', () => {
    const event: ImportCompletedEvent = {
      source: 'an',
      report: { commissions: { created: 1, updated: 0, unchanged: 0, skipped: 0 }, deputies: { created: 0, updated: 0, unchanged: 0, skipped: 0 }, debates: { created: 0, updated: 0, unchanged: 0, skipped: 1, removed: 1 }, problems: [{ uid: 'RU1', kind: 'reunion', reason: 'cancelled', severity: 'skipped' }] },
      changedDebateIds: [],
      removedDebateIds: [7],
    };
    assert.equal(event.report.debates.removed, 1);
  });
});
