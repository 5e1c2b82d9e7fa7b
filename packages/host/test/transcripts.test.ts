import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import webvtt from 'webvtt-parser';
import { DeputySchema, type EntityManager } from '@robian/core';
import { STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';

const { WebVTTParser } = webvtt as unknown as typeof import('webvtt-parser');
// the parser's default character references lack their ';' ("&lt" then ';' left as text): give it
// the full HTML table it ships
const entities = createRequire(import.meta.url)('webvtt-parser/html-entities.json') as ConstructorParameters<typeof WebVTTParser>[0];

/**
 * The Podcasting 2.0 JSON chapters format (podcast namespace, "JSON Chapters Format" 1.2), written
 * from its definition: `version` and `chapters` required; a chapter needs `startTime` (seconds),
 * may have `title`, `img`, `url`, `toc`, `endTime`, `location`.
 */
const PODCAST_CHAPTERS_SCHEMA = {
  type: 'object',
  required: ['version', 'chapters'],
  properties: {
    version: { type: 'string', pattern: '^1\\.2(\\.\\d+)?$' },
    author: { type: 'string' },
    title: { type: 'string' },
    podcastName: { type: 'string' },
    description: { type: 'string' },
    fileName: { type: 'string' },
    waypoints: { type: 'boolean' },
    chapters: {
      type: 'array',
      items: {
        type: 'object',
        required: ['startTime'],
        additionalProperties: false,
        properties: {
          startTime: { type: 'number', minimum: 0 },
          endTime: { type: 'number', minimum: 0 },
          title: { type: 'string' },
          img: { type: 'string' },
          url: { type: 'string' },
          toc: { type: 'boolean' },
          location: { type: 'object', required: ['name', 'geo'], properties: { name: { type: 'string' }, geo: { type: 'string' }, osm: { type: 'string' } } },
        },
      },
    },
  },
} as const;

interface Problem {
  status: number;
  detail?: string;
  errors?: { field: string }[];
}

type Node = { type: string; name?: string; value?: string; children?: Node[] };
const textOf = (n: Node): string => (n.type === 'text' ? (n.value ?? '') : (n.children ?? []).map(textOf).join(''));

for (const mode of STORAGE_MODES) {
  describe(`transcript and chapter routes on ${mode.name}`, { skip: mode.skip }, () => {
    let host: TestHost;
    let debateId: string;
    let bareId: string;
    let deputyId: number;

    const createDebate = async (body: Record<string, unknown>) => {
      const res = await host.request('/api/debats/', { method: 'POST', admin: true, json: { date: '2026-10-06T15:00:00Z', type: 'seance_publique', ...body } });
      assert.equal(res.status, 201);
      return String(((await res.json()) as { id: string | number }).id);
    };

    before(async () => {
      host = await startTestHost({ mode: mode.name });
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      const deputy = em.create(DeputySchema, { source: 'an', externalId: 'PA1008', firstName: 'Marie', lastName: 'Curie', fullName: 'Marie Curie', slug: 'marie-curie' } as never);
      await em.flush();
      deputyId = (deputy as { id: number }).id;
      debateId = await createDebate({ title: 'Séance du 6 octobre : retraites' });
      bareId = await createDebate({ title: 'Sans transcription', chapters: [{ title: 'Ordre du jour', start_seconds: null }] });
      const put = await host.request(`/api/debats/${debateId}/transcript`, {
        method: 'PUT',
        admin: true,
        json: {
          source: 'captions',
          segments: [
            { start_seconds: 0, end_seconds: 3.5, text: 'La séance est ouverte.', speaker_name: 'Mme la présidente' },
            { start_seconds: 3.5, end_seconds: 8.25, text: 'La réforme des retraites <enfin> & le reste', deputy_external_id: 'PA1008' },
            { start_seconds: 8.25, end_seconds: 3725.5, text: 'Ligne une\n\nligne deux --> trois', deputy_id: deputyId, speaker_name: 'Marie Curie' },
            { start_seconds: 3725.5, end_seconds: 3725.5, text: '(Applaudissements)' },
          ],
        },
      });
      assert.equal(put.status, 200, await put.clone().text());
      assert.deepEqual(await put.json(), { debate_id: debateId, source: 'captions', segments: 4 });
    });
    after(() => host.close());

    it('answers JSON segments with speakers and deputies', async () => {
      const res = await host.request(`/api/debats/${debateId}/transcript`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await res.json()) as {
        debate_id: string;
        source: string;
        sources: string[];
        duration_seconds: number;
        speakers: { name: string; deputy_id: string | null; deputy: { slug: string } | null }[];
        segments: { position: number; start_seconds: number; deputy_id: string | null; text: string }[];
      };
      assert.equal(body.debate_id, debateId);
      assert.equal(body.source, 'captions');
      assert.deepEqual(body.sources, ['captions']);
      assert.equal(body.duration_seconds, 3725.5);
      assert.deepEqual(body.segments.map((s) => [s.position, s.start_seconds, s.deputy_id]), [[0, 0, null], [1, 3.5, String(deputyId)], [2, 8.25, String(deputyId)], [3, 3725.5, null]]);
      assert.deepEqual(body.speakers.map((s) => [s.name, s.deputy?.slug ?? null]), [['Mme la présidente', null], ['Marie Curie', 'marie-curie']]);
    });

    it('answers WebVTT that a WebVTT parser reads without error, with the speakers as voices', async () => {
      for (const init of [{ path: '?format=vtt' }, { path: '', headers: { accept: 'text/vtt' } }]) {
        const res = await host.request(`/api/debats/${debateId}/transcript${init.path}`, { headers: init.headers ?? {} });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/vtt/);
        const tree = new WebVTTParser(entities).parse(await res.text(), 'subtitles');
        assert.deepEqual(tree.errors, []);
        assert.equal(tree.cues.length, 4);
        assert.deepEqual(tree.cues.map((c) => [c.startTime, c.endTime]), [[0, 3.5], [3.5, 8.25], [8.25, 3725.5], [3725.5, 3725.501]]);
        const voices = tree.cues.map((c) => (c.tree.children as Node[]).find((n) => n.type === 'object' && n.name === 'v')?.value ?? null);
        assert.deepEqual(voices, ['Mme la présidente', 'Marie Curie', 'Marie Curie', null]);
        assert.equal(textOf(tree.cues[1]!.tree as Node), 'La réforme des retraites <enfin> & le reste');
        assert.equal(textOf(tree.cues[2]!.tree as Node), 'Ligne une\nligne deux --> trois');
      }
    });

    it('answers SRT, the speaker opening the cue when it changes', async () => {
      const res = await host.request(`/api/debats/${debateId}/transcript`, { headers: { accept: 'application/x-subrip' } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/x-subrip/);
      const blocks = (await res.text()).trim().split(/\n\n/);
      assert.equal(blocks.length, 4);
      assert.deepEqual(blocks[1]!.split('\n'), ['2', '00:00:03,500 --> 00:00:08,250', 'Marie Curie : La réforme des retraites <enfin> & le reste']);
      assert.deepEqual(blocks[2]!.split('\n').slice(0, 3), ['3', '00:00:08,250 --> 01:02:05,500', 'Ligne une']);
    });

    it('gives a strong ETag and 304 on If-None-Match; a new transcript changes it', async () => {
      const first = await host.request(`/api/debats/${debateId}/transcript?format=vtt`);
      const etag = first.headers.get('etag');
      assert.match(etag ?? '', /^"[\w-]+"$/);
      const again = await host.request(`/api/debats/${debateId}/transcript?format=vtt`, { headers: { 'if-none-match': etag! } });
      assert.equal(again.status, 304);
      assert.equal(await again.text(), '');
      const json = await host.request(`/api/debats/${debateId}/transcript`);
      assert.notEqual(json.headers.get('etag'), etag, 'each format has its own validator');
      const put = await host.request(`/api/debats/${debateId}/transcript`, { method: 'PUT', admin: true, json: { source: 'asr', segments: [{ start_seconds: 1, end_seconds: 2, text: 'la séance est ouverte' }] } });
      assert.equal(put.status, 200);
      const asr = await host.request(`/api/debats/${debateId}/transcript?source=asr&format=vtt`, { headers: { 'if-none-match': etag! } });
      assert.equal(asr.status, 200);
      const sources = (await (await host.request(`/api/debats/${debateId}/transcript`)).json()) as { source: string; sources: string[] };
      assert.deepEqual([sources.source, sources.sources], ['captions', ['asr', 'captions']]);
    });

    it('answers 404 problems when there is no debate or no transcript yet, 422 for a bad format or source', async () => {
      const none = await host.request(`/api/debats/${bareId}/transcript`);
      assert.equal(none.status, 404);
      assert.match(none.headers.get('content-type') ?? '', /problem\+json/);
      assert.match(((await none.json()) as Problem).detail ?? '', /no transcript yet/);
      const missing = await host.request('/api/debats/987654/transcript?format=srt');
      assert.equal(missing.status, 404);
      assert.match(((await missing.json()) as Problem).detail ?? '', /does not exist/);
      assert.equal((await host.request(`/api/debats/${debateId}/transcript?source=nothing`)).status, 404);
      const bad = await host.request(`/api/debats/${debateId}/transcript?format=docx`);
      assert.equal(bad.status, 422);
      assert.equal(((await bad.json()) as Problem).errors?.[0]?.field, 'format');
      assert.equal((await host.request(`/api/debats/${debateId}/transcript?source=..%2Fetc`)).status, 422);
      const refused = await host.request(`/api/debats/${debateId}/transcript`, { method: 'PUT', admin: true, json: { source: 'asr', segments: [{ start_seconds: 5, end_seconds: 1, text: 'x' }] } });
      assert.equal(refused.status, 422);
      assert.equal(((await refused.json()) as Problem).errors?.[0]?.field, 'segments.0.end_seconds');
      assert.equal((await host.request(`/api/debats/${debateId}/transcript`, { method: 'PUT', json: { source: 'asr', segments: [] } })).status, 401);
    });

    it("answers chapters from the transcript's speaker turns, as JSON and as valid Podcasting 2.0 chapters", async () => {
      const res = await host.request(`/api/debats/${debateId}/chapters`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { origin: string; chapters: { title: string; start_seconds: number; end_seconds: number }[] };
      assert.equal(body.origin, 'transcript');
      assert.deepEqual(body.chapters.map((c) => [c.title, c.start_seconds, c.end_seconds]), [['Mme la présidente', 0, 3.5], ['Marie Curie', 3.5, 3725.5]]);
      const validate = new Ajv({ strict: true }).compile(PODCAST_CHAPTERS_SCHEMA);
      const podcast = await host.request(`/api/debats/${debateId}/chapters`, { headers: { accept: 'application/json+chapters' } });
      assert.equal(podcast.status, 200);
      assert.match(podcast.headers.get('content-type') ?? '', /^application\/json\+chapters/);
      const doc = await podcast.json();
      assert.ok(validate(doc), JSON.stringify(validate.errors));
      assert.deepEqual((doc as { chapters: { startTime: number }[] }).chapters.map((c) => c.startTime), [0, 3.5]);
      const etag = podcast.headers.get('etag')!;
      assert.equal((await host.request(`/api/debats/${debateId}/chapters?format=podcast`, { headers: { 'if-none-match': etag } })).status, 304);
    });

    it("prefers the debate's own timed chapters, in time order, sub-chapters out of the table of contents", async () => {
      const id = await createDebate({
        title: 'Commission des affaires sociales',
        chapters: [
          { title: 'Audition', start_seconds: 0, level: 0 },
          { title: 'Mme Curie', start_seconds: 120.5, end_seconds: 300, level: 1, speaker_name: 'Marie Curie' },
          { title: 'Sans heure', start_seconds: null },
          { title: 'Vote', start_seconds: 60, level: 0 },
        ],
      });
      const json = (await (await host.request(`/api/debats/${id}/chapters`)).json()) as { origin: string; chapters: unknown[] };
      assert.equal(json.origin, 'debate');
      assert.equal(json.chapters.length, 4);
      const doc = (await (await host.request(`/api/debats/${id}/chapters?format=podcast`)).json()) as { title: string; chapters: Record<string, unknown>[] };
      assert.ok(new Ajv({ strict: true }).compile(PODCAST_CHAPTERS_SCHEMA)(doc));
      assert.equal(doc.title, 'Commission des affaires sociales');
      assert.deepEqual(doc.chapters, [
        { startTime: 0, title: 'Audition' },
        { startTime: 60, title: 'Vote' },
        { startTime: 120.5, title: 'Mme Curie', endTime: 300, toc: false },
      ]);
      // only untimed chapters and no transcript: the outline in JSON, nothing in the podcast format
      const outline = (await (await host.request(`/api/debats/${bareId}/chapters`)).json()) as { origin: string; chapters: { title: string; start_seconds: null }[] };
      assert.deepEqual([outline.origin, outline.chapters], ['debate', [{ title: 'Ordre du jour', start_seconds: null }]]);
      assert.equal((await host.request(`/api/debats/${bareId}/chapters?format=podcast`)).status, 404);
      const none = await createDebate({ title: 'Rien encore' });
      assert.equal((await host.request(`/api/debats/${none}/chapters`)).status, 404);
    });
  });
}
