import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommissionSchema, DeputySchema, replaceTranscript, type EntityManager } from '@robian/core';
import { STORAGE_MODES, serveTestMp3, startTestHost, type TestHost, type TestMp3Server } from '@robian/test-support';
import { officialPlugins } from '../src/official.ts';

/*
 * The original RobianAPI's wire contract (../shared/notes/ORIGINAL-API.md, from its Pydantic models),
 * field by field, over every route of both path families: what RobianAPP's serde structs need. A
 * field that is not Optional in the original must be present, non-null and of its JSON type; an
 * Optional one may be null; an enum only takes the original's values.
 */

type Kind = 'string' | 'int' | 'number' | 'bool' | 'object' | 'date' | 'datetime' | 'url' | 'strings' | 'array';
interface Field {
  kind: Kind;
  nullable?: boolean;
  values?: readonly string[];
  pattern?: RegExp;
}
type Model = Record<string, Field>;

const req = (kind: Kind, extra: Omit<Field, 'kind'> = {}): Field => ({ kind, ...extra });
const opt = (kind: Kind, extra: Omit<Field, 'kind'> = {}): Field => ({ kind, nullable: true, ...extra });

const DEBATE_TYPES = ['seance_publique', 'commission', 'audition', 'question_gouvernement', 'autre'] as const;
const DEBATE_STATUSES = ['programme', 'en_cours', 'termine', 'disponible', 'extraction', 'erreur'] as const;

/** DebateResponse (api/schemas/debates.py). */
const DEBATE: Model = {
  id: req('string'),
  title: req('string'),
  description: opt('string'),
  type: req('string', { values: DEBATE_TYPES }),
  date: req('date'),
  source_url: req('url'),
  start_time: opt('datetime'),
  end_time: opt('datetime'),
  duration_minutes: opt('int'),
  video_url: opt('string'),
  thumbnail_url: opt('string'),
  commission: opt('string'),
  salle: opt('string'),
  speakers: req('strings'),
  ministers: req('strings'),
  tags: req('strings'),
  keywords: req('strings'),
  metadata: req('object'),
  status: req('string', { values: DEBATE_STATUSES }),
  display_duration: req('string', { pattern: /^(\d+h \d+min|\d+min|Durée inconnue)$/ }),
  is_live: req('bool'),
  has_audio: req('bool'),
  view_count: req('int'),
  download_count: req('int'),
  audio_files: req('array'),
  created_at: req('datetime'),
  updated_at: req('datetime'),
};

/** AudioFileSchema. */
const AUDIO_FILE: Model = {
  id: req('string'),
  debate_id: req('string'),
  filename: req('string'),
  file_size: req('int'),
  file_size_mb: req('number'),
  format: req('string'),
  quality: req('string'),
  duration_seconds: opt('int'),
  duration_formatted: req('string', { pattern: /^(\d+:\d{2}(:\d{2})?|Durée inconnue)$/ }),
  extraction_status: req('string', { values: ['pending', 'extracting', 'completed', 'error'] }),
  extraction_started_at: opt('datetime'),
  extraction_completed_at: opt('datetime'),
  extraction_error: opt('string'),
  stream_url: opt('string'),
  download_url: opt('string'),
  download_count: req('int'),
  stream_count: req('int'),
  is_ready: req('bool'),
  is_extracting: req('bool'),
  has_error: req('bool'),
  metadata: req('object'),
  created_at: req('datetime'),
  updated_at: req('datetime'),
};

/** DebateListResponse. */
const LIST: Model = { debates: req('array'), total: req('int'), page: req('int'), per_page: req('int'), has_next: req('bool'), has_prev: req('bool') };

/** StreamingInfoResponse. */
const STREAMING_INFO: Model = {
  debate_id: req('string'),
  audio_available: req('bool'),
  message: req('string'),
  stream_url: opt('string'),
  download_url: opt('string'),
  file_size: opt('int'),
  duration_seconds: opt('int'),
  format: opt('string'),
  quality: opt('string'),
  extraction_status: opt('string', { values: ['pending', 'extracting', 'completed', 'error'] }),
};

/** ExtractionResponse. */
const EXTRACTION: Model = {
  extraction_id: req('string'),
  debate_id: req('string'),
  status: req('string'),
  message: req('string'),
  estimated_duration: opt('string'),
  progress: opt('int'),
  error: opt('string'),
  audio_file: opt('object'),
};

const PROGRAMME_ITEM: Model = {
  date: req('date'),
  heure: req('string', { pattern: /^\d{2}:\d{2}$/ }),
  titre: req('string'),
  type: req('string', { values: DEBATE_TYPES }),
  commission: opt('string'),
  salle: opt('string'),
  url: opt('string'),
};

function check(where: string, value: unknown, model: Model): void {
  assert.ok(value && typeof value === 'object' && !Array.isArray(value), `${where} is an object`);
  const o = value as Record<string, unknown>;
  for (const [name, f] of Object.entries(model)) {
    const at = `${where}.${name}`;
    const v = o[name];
    if (v === undefined || v === null) {
      assert.ok(f.nullable, `${at} is required (got ${v === null ? 'null' : 'nothing'})`);
      continue;
    }
    switch (f.kind) {
      case 'string':
        assert.equal(typeof v, 'string', `${at} is a string`);
        break;
      case 'int':
        assert.ok(Number.isInteger(v), `${at} is an integer (got ${JSON.stringify(v)})`);
        break;
      case 'number':
        assert.equal(typeof v, 'number', `${at} is a number`);
        break;
      case 'bool':
        assert.equal(typeof v, 'boolean', `${at} is a boolean`);
        break;
      case 'object':
        assert.ok(typeof v === 'object' && !Array.isArray(v), `${at} is an object`);
        break;
      case 'array':
        assert.ok(Array.isArray(v), `${at} is an array`);
        break;
      case 'strings':
        assert.ok(Array.isArray(v) && v.every((x) => typeof x === 'string'), `${at} is a list of strings (got ${JSON.stringify(v)})`);
        break;
      case 'date':
        assert.match(String(v), /^\d{4}-\d{2}-\d{2}$/, `${at} is a date, YYYY-MM-DD`);
        break;
      case 'datetime':
        assert.ok(typeof v === 'string' && !Number.isNaN(Date.parse(v)) && /T/.test(v), `${at} is an ISO date-time (got ${JSON.stringify(v)})`);
        break;
      case 'url':
        assert.match(String(v), /^https?:\/\/\S+$/, `${at} is an http(s) URL`);
        break;
    }
    if (f.values) assert.ok(f.values.includes(String(v)), `${at}: ${JSON.stringify(v)} is one of ${f.values.join(', ')}`);
    if (f.pattern) assert.match(String(v), f.pattern, `${at} reads as the original wrote it`);
  }
}

function checkDebate(where: string, d: unknown): void {
  check(where, d, DEBATE);
  (d as { audio_files: unknown[] }).audio_files.forEach((a, i) => check(`${where}.audio_files[${i}]`, a, AUDIO_FILE));
}

const CONTRACT_TIMEOUT = 240_000;

for (const mode of STORAGE_MODES) {
  describe(`the original RobianAPI's contract (${mode.name})`, { skip: mode.skip }, () => {
    let media: TestMp3Server;
    let host: TestHost;
    let withAudio: string;
    let bare: string;
    let token: string;
    const get = async (path: string, init: RequestInit = {}) => {
      const res = await host.request(path, init);
      assert.equal(res.status, 200, `${path}: ${res.status} ${await res.clone().text()}`);
      return (await res.json()) as Record<string, unknown>;
    };

    before(async () => {
      media = await serveTestMp3({ seconds: 6, frequency: 330 });
      host = await startTestHost({ mode: mode.name, plugins: officialPlugins(), env: { MEDIA_ALLOWED_HOSTS: new URL(media.url).host } });
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      em.create(CommissionSchema, { source: 'assemblee-nationale', externalId: 'PO59048', name: 'Commission des finances', shortName: 'Finances', slug: 'finances', kind: 'COMPER' } as never);
      em.create(DeputySchema, { source: 'assemblee-nationale', externalId: 'PA720468', firstName: 'Éric', lastName: 'Coquerel', fullName: 'Éric Coquerel', slug: 'eric-coquerel', politicalGroup: 'La France insoumise', politicalGroupShort: 'LFI-NFP' } as never);
      await em.flush();
      const device = await host.request('/api/auth/device', { method: 'POST', json: { device_name: 'RobianAPP' } });
      token = ((await device.json()) as { access_token: string }).access_token;
    }, { timeout: CONTRACT_TIMEOUT });
    after(async () => {
      await host?.close();
      await media?.close();
    });

    it("creates with the original's body on /api/debates/ (200), names resolved, unknown fields ignored, a wrong type named", async () => {
      const body = {
        title: 'Commission des finances : audition du ministre',
        description: 'Audition sur le projet de loi de finances',
        type: 'commission',
        date: '2026-11-30',
        source_url: 'https://videos.assemblee-nationale.fr/video.1234_5678',
        start_time: '2026-11-30T09:30:00+01:00',
        end_time: '2026-11-30T11:35:00+01:00',
        video_url: `${media.url}/seance.mp3`,
        commission: 'Commission des finances',
        salle: 'Salle 6350',
        speakers: ['Éric Coquerel', 'Jean Nouveau'],
        ministers: ['Ministre de l’Économie'],
        tags: ['budget'],
        keywords: ['PLF'],
        metadata: { legislature: 17, origin: 'RobianAPP' },
        status: 'termine',
        an_unknown_field: { ignored: true },
      };
      const res = await host.request('/api/debates/', { method: 'POST', json: body, admin: true });
      assert.equal(res.status, 200, await res.clone().text());
      const d = (await res.json()) as Record<string, unknown> & { committee: { id: string; external_id: string } | null; deputies: { external_id: string; full_name: string }[] };
      checkDebate('created', d);
      withAudio = d.id as string;
      assert.equal(d.date, '2026-11-30');
      assert.equal(d.commission, 'Commission des finances');
      assert.equal(d.committee?.external_id, 'PO59048', 'the name found the imported committee');
      assert.equal(d.salle, 'Salle 6350');
      assert.deepEqual([...(d.speakers as string[])].sort(), ['Jean Nouveau', 'Éric Coquerel']);
      assert.equal(d.deputies.find((p) => p.full_name === 'Éric Coquerel')?.external_id, 'PA720468');
      assert.deepEqual(d.ministers, ['Ministre de l’Économie']);
      assert.deepEqual(d.metadata, { legislature: 17, origin: 'RobianAPP' });
      assert.equal(d.display_duration, '2h 5min');
      assert.equal('an_unknown_field' in d, false);

      const wrong = await host.request('/api/debates/', { method: 'POST', json: { ...body, source_url: 'https://example.org/2', speakers: 'Éric Coquerel' }, admin: true });
      assert.equal(wrong.status, 422);
      assert.ok(((await wrong.json()) as { errors: { field: string }[] }).errors.some((e) => e.field === 'speakers'));
      const dup = await host.request('/api/debates/', { method: 'POST', json: body, admin: true });
      assert.equal(dup.status, 409, 'a duplicate source_url');

      // a sitting without any page of its own still has a source_url (the parliament's page)
      const plain = await host.request('/api/debats/', { method: 'POST', json: { title: 'Séance publique', type: 'seance_publique', date: '2026-12-01T14:00:00Z' }, admin: true });
      const p = (await plain.json()) as Record<string, unknown>;
      checkDebate('plain', p);
      assert.equal(p.display_duration, 'Durée inconnue');
      bare = p.id as string;
    });

    it('gives a debate with audio, committee, speakers and chapters the original fields on both path families', { timeout: CONTRACT_TIMEOUT }, async () => {
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      await em.getConnection().execute('update debate set chapters = ? where id = ?', [JSON.stringify([{ title: 'Ouverture', start_seconds: 0 }, { title: 'Audition', start_seconds: 3 }]), Number(withAudio)]);
      await replaceTranscript(em, Number(withAudio), 'captions', [{ start_seconds: 0, end_seconds: 3, text: 'La séance est ouverte.', speaker_name: 'Éric Coquerel' }]);
      const extract = await host.request(`/api/streaming/${withAudio}/extract`, { method: 'POST', json: { debate_id: withAudio, priority: 'normal', format: 'mp3', quality: '192k' } });
      assert.equal(extract.status, 200, await extract.clone().text());
      check('extract', await extract.json(), EXTRACTION);
      let status: Record<string, unknown> = {};
      for (let i = 0; i < 1200 && status.status !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await get(`/api/streaming/${withAudio}/status?format=mp3&quality=192k`);
        check('status', status, EXTRACTION);
        assert.notEqual(status.status, 'failed', JSON.stringify(status));
      }
      assert.equal(status.status, 'completed');
      check('status.audio_file', status.audio_file, AUDIO_FILE);
      // the app's default (mp3 192k) is now playable from the original's paths
      const info = await get(`/api/streaming/${withAudio}/info?format=mp3&quality=192k`);
      check('info', info, STREAMING_INFO);
      const stream = await host.request(`/api/streaming/${withAudio}/stream?format=mp3&quality=192k`, { headers: { range: 'bytes=0-99' } });
      assert.equal(stream.status, 206);
      assert.equal((await stream.arrayBuffer()).byteLength, 100);
      const download = await host.request(`/api/streaming/${withAudio}/download?format=mp3&quality=192k`);
      assert.equal(download.status, 200);
      assert.match(download.headers.get('content-disposition') ?? '', /attachment/);
      await download.arrayBuffer();
      await host.robian.kernel.cache.invalidateAll();

      for (const base of ['/api/debats', '/api/debates']) {
        const d = await get(`${base}/${withAudio}`);
        checkDebate(`${base}/{id}`, d);
        const files = d.audio_files as { format: string; quality: string; extraction_status: string; download_count: number; stream_count: number }[];
        const mp3 = files.find((f) => f.format === 'mp3' && f.quality === '192k');
        assert.ok(mp3, 'the extracted rendition is listed');
        assert.equal(mp3.extraction_status, 'completed');
        assert.equal(d.has_audio, true);
        assert.ok((d.chapters as unknown[]).length === 2);
        const list = await get(`${base}/?per_page=100`);
        check(`${base}/`, list, LIST);
        (list.debates as unknown[]).forEach((x, i) => checkDebate(`${base}/.debates[${i}]`, x));
      }
      const counted = (await get(`/api/debats/${withAudio}`)) as { download_count: number; audio_files: { quality: string; stream_count: number; download_count: number }[] };
      const file = counted.audio_files.find((f) => f.quality === '192k')!;
      assert.equal(file.download_count, 1, 'the download was counted');
      assert.equal(file.stream_count, 1, 'the play from the first byte was counted');
      assert.equal(counted.download_count, 1);
      check('/api/debats/{id}/streaming', await get(`/api/debats/${withAudio}/streaming`), STREAMING_INFO);
    });

    it('prints the same debate objects in search hits, committee and deputy lists and collections', async () => {
      const search = await get('/api/search?q=audition');
      assert.ok((search.debates as unknown[]).length > 0);
      (search.debates as unknown[]).forEach((x, i) => checkDebate(`search.debates[${i}]`, x));
      const committee = await get('/api/commissions/finances/debats');
      (committee.debates as unknown[]).forEach((x, i) => checkDebate(`commission.debates[${i}]`, x));
      assert.equal(typeof (committee.commission as { id: unknown }).id, 'string');
      const deputy = await get('/api/deputes/eric-coquerel/debats');
      (deputy.debates as unknown[]).forEach((x, i) => checkDebate(`depute.debates[${i}]`, x));
      const auth = { authorization: `Bearer ${token}` };
      const created = await host.request('/api/collections/', { method: 'POST', headers: auth, json: { name: 'À réécouter' } });
      const collection = (await created.json()) as { id: unknown };
      assert.equal(typeof collection.id, 'string');
      assert.ok([200, 201].includes((await host.request(`/api/collections/${collection.id}/debats/${withAudio}`, { method: 'POST', headers: auth, json: {} })).status));
      const detail = await get(`/api/collections/${collection.id}`, { headers: auth });
      (detail.debates as { debate: unknown }[]).forEach((x, i) => checkDebate(`collection.debates[${i}].debate`, x.debate));
    });

    it('updates on /api/debates/{id}, deletes with 200 {message}, and any id naming no debate is a 404', async () => {
      const put = await host.request(`/api/debates/${bare}`, { method: 'PUT', json: { salle: 'Hémicycle', ministers: ['Premier ministre'], unknown: 1 }, admin: true });
      assert.equal(put.status, 200, await put.clone().text());
      const d = (await put.json()) as Record<string, unknown>;
      checkDebate('updated', d);
      assert.equal(d.salle, 'Hémicycle');
      for (const id of ['3f2c1a9e-0b7d-4c1e-9a53-2f4d6e8b1c0a', '999999', 'abc', `0${bare}`]) {
        for (const path of [`/api/debates/${id}`, `/api/debats/${id}`, `/api/streaming/${id}/info`]) {
          const res = await host.request(path);
          assert.equal(res.status, 404, path);
          assert.equal(typeof ((await res.json()) as { detail: unknown }).detail, 'string', `${path}: detail is a string, as FastAPI's`);
        }
      }
      assert.equal((await host.request(`/api/streaming/${bare}/status`)).status, 404, 'no extraction ever requested');
      const del = await host.request(`/api/debates/${bare}`, { method: 'DELETE', admin: true });
      assert.equal(del.status, 200);
      assert.equal(typeof ((await del.json()) as { message: unknown }).message, 'string');
      assert.equal((await host.request(`/api/debates/${bare}`)).status, 404);
    });

    it('answers the service description, the health checks in their words and the programme', async () => {
      const root = await get('/', { headers: { accept: 'application/json' } });
      assert.equal(root.status, 'operational');
      for (const k of ['message', 'version', 'environment']) assert.equal(typeof root[k], 'string', k);
      for (const k of ['features', 'endpoints', 'links']) assert.ok(root[k] && typeof root[k] === 'object', k);
      for (const path of ['/health', '/health/']) assert.equal((await get(path)).status, 'healthy', path);
      assert.equal((await get('/health/database')).status, 'healthy');
      assert.ok(['healthy', 'degraded'].includes((await get('/health/cache')).status as string));
      assert.equal(typeof ((await get('/health/websockets')).websocket_stats as { total_connections: unknown }).total_connections, 'number');
      assert.equal((await get('/health/readiness')).status, 'ready');
      assert.equal((await get('/health/liveness')).status, 'alive');
      const res = await host.request('/api/programme?date_param=2026-11-30');
      assert.equal(res.status, 200);
      const day = (await res.json()) as Record<string, unknown>[];
      assert.equal(day.length, 1);
      day.forEach((x, i) => check(`programme[${i}]`, x, PROGRAMME_ITEM));
      assert.equal(day[0]!.heure, '09:30', 'Paris time');
      assert.equal(day[0]!.commission, 'Commission des finances');
      assert.equal((await host.request('/api/programme?date_param=30/11/2026')).status, 422);
    });

    it('answers a refresh with 304 on the list, the detail, search and the name routes, and still counts views', async () => {
      for (const path of ['/api/debats/', `/api/debats/${withAudio}`, '/api/debates/', '/api/search?q=audition', '/api/commissions/', '/api/commissions/finances/debats', '/api/deputes/', '/api/deputes/eric-coquerel/debats']) {
        const first = await host.request(path);
        assert.equal(first.status, 200, path);
        const etag = first.headers.get('etag');
        assert.match(etag ?? '', /^"[^"]+"$/, `${path}: a strong ETag`);
        const body = await first.text();
        const again = await host.request(path, { headers: { 'if-none-match': etag! } });
        assert.equal(again.status, 304, path);
        assert.equal(await again.text(), '');
        const other = await host.request(path, { headers: { 'if-none-match': '"something-else"' } });
        assert.equal(other.status, 200, path);
        assert.equal(await other.text(), body, `${path}: the same bytes`);
      }
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      const views = async () => Number((await em.getConnection().execute<{ v: number }[]>('select view_count as v from debate where id = ?', [Number(withAudio)]))[0]!.v);
      const before = await views();
      const etag = (await host.request(`/api/debats/${withAudio}`)).headers.get('etag')!;
      await host.request(`/api/debats/${withAudio}`, { headers: { 'if-none-match': etag } });
      for (let i = 0; i < 100 && (await views()) < before + 2; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok((await views()) >= before + 2, 'a view answered by a 304 is a view too');
    });
  });
}
