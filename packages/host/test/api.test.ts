import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_KEY, STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';
import { CommissionSchema, DeputySchema, type EntityManager } from '@robian/core';

interface DebateJson {
  id: string;
  title: string;
  type: string;
  status: string;
  date: string;
  has_audio: boolean;
  view_count: number;
  commission: string | null;
  committee: { id: string; name: string } | null;
  speakers: string[];
  deputies: { id: string; full_name: string }[];
  [k: string]: unknown;
}
interface ListJson {
  debates: DebateJson[];
  total: number;
  page: number;
  per_page: number;
  has_next: boolean;
  has_prev: boolean;
}
interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  request_id?: string;
  errors?: { in: string; field: string; message: string }[];
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

for (const mode of STORAGE_MODES) {
  describe(`debates API on ${mode.name}`, { skip: mode.skip }, () => {
    let host: TestHost;
    let lois: number;
    let finances: number;
    const deputies: number[] = [];

    before(async () => {
      host = await startTestHost({ mode: mode.name, env: { CORS_TEST: '1', BACKEND_CORS_ORIGINS: 'https://app.example.org' }, plugins: [] });
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      const c1 = em.create(CommissionSchema, { source: 'test', externalId: 'PO59051', name: 'Commission des lois constitutionnelles', shortName: 'Lois', slug: 'lois', kind: 'COMPER' } as never);
      const c2 = em.create(CommissionSchema, { source: 'test', externalId: 'PO59048', name: 'Commission des finances', shortName: 'Finances', slug: 'finances', kind: 'COMPER' } as never);
      const d1 = em.create(DeputySchema, { source: 'test', externalId: 'PA1', firstName: 'Élise', lastName: 'Martin', fullName: 'Élise Martin', slug: 'elise-martin' } as never);
      const d2 = em.create(DeputySchema, { source: 'test', externalId: 'PA2', firstName: 'Joël', lastName: 'Dupont', fullName: 'Joël Dupont', slug: 'joel-dupont' } as never);
      await em.flush();
      lois = c1.id;
      finances = c2.id;
      deputies.push(d1.id, d2.id);
    });
    after(() => host.close());

    const create = async (body: Record<string, unknown>) => host.request('/api/debats/', { method: 'POST', json: body, admin: true });

    it('creates debates (admin) and answers 201 with the wire format', async () => {
      const res = await create({
        title: 'Séance publique : réforme des retraites',
        type: 'seance_publique',
        status: 'termine',
        date: '2025-06-03T15:00:00+02:00',
        start_time: '2025-06-03T15:00:00+02:00',
        end_time: '2025-06-03T18:30:00+02:00',
        source_url: 'https://videos.example.org/video.1',
        agenda_points: ['Projet de loi'],
        keywords: ['retraites'],
        speaker_ids: [deputies[0], deputies[1]],
      });
      assert.equal(res.status, 201);
      const body = await json<DebateJson>(res);
      assert.equal(res.headers.get('location'), `/api/debats/${body.id}`);
      assert.equal(body.title, 'Séance publique : réforme des retraites');
      assert.equal(typeof body.id, 'string');
      assert.equal(body.date, '2025-06-03', 'the day, YYYY-MM-DD');
      assert.equal(body.date_time, '2025-06-03T13:00:00.000Z');
      assert.equal(body.display_duration, '3h 30min');
      assert.equal(body.is_live, false);
      assert.equal(body.duration_minutes, 210, 'computed from start and end');
      assert.equal(body.has_audio, false);
      assert.deepEqual(body.audio_files, []);
      assert.deepEqual(body.speakers, ['Joël Dupont', 'Élise Martin']);
      assert.deepEqual(body.deputies.map((s) => s.id), [String(deputies[1]), String(deputies[0])]);
      for (const key of ['source_url', 'duration_minutes', 'has_audio', 'audio_files', 'created_at', 'updated_at', 'view_count', 'agenda_points']) assert.ok(key in body, key);

      const more = [
        { title: 'Commission des lois : audition', type: 'audition', status: 'termine', date: '2025-06-04T09:30:00Z', commission_id: lois, speaker_ids: [deputies[0]] },
        { title: 'Commission des finances : budget', type: 'commission', status: 'disponible', date: '2025-06-05T09:00:00Z', commission_id: finances, duration_minutes: 90 },
        { title: 'Questions au Gouvernement', type: 'question_gouvernement', status: 'termine', date: '2025-06-04T13:00:00Z', duration_minutes: 120, speaker_ids: [deputies[1]] },
        { title: 'Séance à venir', type: 'seance_publique', status: 'programme', date: '2026-12-02T14:00:00Z' },
      ];
      for (const m of more) assert.equal((await create(m)).status, 201);
    });

    it('lists with the original envelope, sorted by date desc by default', async () => {
      const res = await host.request('/api/debats/');
      assert.equal(res.status, 200);
      const list = await json<ListJson>(res);
      assert.equal(list.total, 5);
      assert.equal(list.page, 1);
      assert.equal(list.per_page, 20);
      assert.equal(list.has_next, false);
      assert.equal(list.has_prev, false);
      assert.deepEqual(
        list.debates.map((d) => d.date),
        [...list.debates.map((d) => d.date)].sort().reverse(),
      );
      // without the trailing slash too
      assert.equal((await json<ListJson>(await host.request('/api/debats'))).total, 5);
    });

    it('paginates, including the edges', async () => {
      const p1 = await json<ListJson>(await host.request('/api/debats/?per_page=2&page=1&sort_by=date&sort_order=asc'));
      const p2 = await json<ListJson>(await host.request('/api/debats/?per_page=2&page=2&sort_by=date&sort_order=asc'));
      const p3 = await json<ListJson>(await host.request('/api/debats/?per_page=2&page=3&sort_by=date&sort_order=asc'));
      const p9 = await json<ListJson>(await host.request('/api/debats/?per_page=2&page=9'));
      assert.deepEqual([p1.has_prev, p1.has_next, p2.has_prev, p2.has_next, p3.has_prev, p3.has_next], [false, true, true, true, true, false]);
      assert.equal(p3.debates.length, 1);
      const ids = [...p1.debates, ...p2.debates, ...p3.debates].map((d) => d.id);
      assert.equal(new Set(ids).size, 5, 'no debate twice, none missing');
      assert.deepEqual(p9.debates, []);
      assert.equal(p9.total, 5);
      assert.equal(p9.has_next, false);
      const all = await json<ListJson>(await host.request('/api/debats/?per_page=100'));
      assert.equal(all.debates.length, 5);
    });

    it('filters by type, status, commission, depute, dates, has_audio and q', async () => {
      const titles = async (qs: string) => (await json<ListJson>(await host.request(`/api/debats/?${qs}`))).debates.map((d) => d.title).sort();
      assert.deepEqual(await titles('type=audition'), ['Commission des lois : audition']);
      assert.deepEqual(await titles('status=disponible'), ['Commission des finances : budget']);
      assert.deepEqual(await titles(`commission=${lois}`), ['Commission des lois : audition']);
      assert.deepEqual(await titles('commission=PO59048'), ['Commission des finances : budget']);
      assert.deepEqual(await titles('commission=Finances'), ['Commission des finances : budget']);
      assert.deepEqual(await titles('commission=lois'), ['Commission des lois : audition']);
      assert.deepEqual(await titles('depute=PA1'), ['Commission des lois : audition', 'Séance publique : réforme des retraites']);
      assert.deepEqual(await titles('depute=Joël Dupont'), ['Questions au Gouvernement', 'Séance publique : réforme des retraites']);
      assert.deepEqual(await titles(`depute=${deputies[1]}`), ['Questions au Gouvernement', 'Séance publique : réforme des retraites']);
      assert.deepEqual(await titles('date_start=2025-06-04&date_end=2025-06-04'), ['Commission des lois : audition', 'Questions au Gouvernement']);
      assert.deepEqual(await titles('date_start=2025-06-05T00:00:00Z'), ['Commission des finances : budget', 'Séance à venir']);
      assert.deepEqual(await titles('has_audio=false&type=seance_publique'), ['Séance publique : réforme des retraites', 'Séance à venir']);
      assert.deepEqual(await titles('has_audio=true'), []);
      assert.deepEqual(await titles('q=RETRAITES'), ['Séance publique : réforme des retraites']);
      assert.deepEqual(await titles('q=100%25'), [], 'LIKE wildcards are literal');
      assert.deepEqual(await titles('commission=unknown-committee'), []);
    });

    it('sorts by each field', async () => {
      const order = async (qs: string) => (await json<ListJson>(await host.request(`/api/debats/?${qs}`))).debates.map((d) => d.title);
      const byTitle = await order('sort_by=title&sort_order=asc');
      assert.deepEqual(byTitle, [...byTitle].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      const byDuration = await json<ListJson>(await host.request('/api/debats/?sort_by=duration_minutes&sort_order=desc&status=termine'));
      assert.equal(byDuration.debates[0]?.title, 'Séance publique : réforme des retraites');
      for (const s of ['created_at', 'updated_at', 'view_count']) assert.equal((await host.request(`/api/debats/?sort_by=${s}`)).status, 200);
    });

    it('answers bad query parameters with a 422 problem naming the field', async () => {
      const cases: [string, string][] = [
        ['per_page=101', 'per_page'],
        ['per_page=0', 'per_page'],
        ['page=0', 'page'],
        ['page=abc', 'page'],
        ['type=plenary', 'type'],
        ['status=unknown', 'status'],
        ['sort_by=password', 'sort_by'],
        ['sort_order=sideways', 'sort_order'],
        ['date_start=yesterday', 'date_start'],
        ['date_start=2025-06-05&date_end=2025-06-01', 'date_end'],
        ['has_audio=maybe', 'has_audio'],
        [`q=${'x'.repeat(201)}`, 'q'],
      ];
      for (const [qs, field] of cases) {
        const res = await host.request(`/api/debats/?${qs}`);
        assert.equal(res.status, 422, qs);
        assert.equal(res.headers.get('content-type'), 'application/problem+json');
        const p = await json<Problem>(res);
        assert.equal(p.status, 422);
        assert.ok(p.errors?.some((e) => e.in === 'query' && e.field === field), `${qs} names ${field}: ${JSON.stringify(p.errors)}`);
        assert.match(p.detail ?? '', new RegExp(field));
      }
    });

    it('shows one debate, 404s unknown ones and rejects bad ids', async () => {
      const list = await json<ListJson>(await host.request('/api/debats/?type=audition'));
      const id = list.debates[0]!.id;
      const res = await host.request(`/api/debats/${id}`);
      assert.equal(res.status, 200);
      const d = await json<DebateJson>(res);
      assert.equal(d.commission, 'Commission des lois constitutionnelles');
      assert.equal(d.committee?.name, 'Commission des lois constitutionnelles');
      assert.equal(d.committee?.id, String(lois));
      const missing = await host.request('/api/debats/999999');
      assert.equal(missing.status, 404);
      assert.equal((await json<Problem>(missing)).detail, 'debate 999999 does not exist');
      // ids are opaque strings to clients: any id that names no debate is a 404, as in the original
      for (const bad of ['abc', '-1', '0', '1.5', '99999999999', '3f2c1a9e-0b7d-4c1e-9a53-2f4d6e8b1c0a', `0${id}`]) {
        const r = await host.request(`/api/debats/${bad}`);
        assert.equal(r.status, 404, bad);
        assert.equal(r.headers.get('content-type'), 'application/problem+json');
        assert.equal(typeof (await json<Problem>(r)).detail, 'string');
      }
    });

    it('counts views without slowing the response', async () => {
      const list = await json<ListJson>(await host.request('/api/debats/?type=commission'));
      const id = list.debates[0]!.id;
      for (let i = 0; i < 3; i++) assert.equal((await host.request(`/api/debats/${id}`)).status, 200);
      // the counter is written in the background; wait for it in the database
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      const deadline = Date.now() + 10_000;
      let views = 0;
      while (Date.now() < deadline) {
        const [row] = await em.getConnection().execute<{ view_count: number }[]>('select view_count from debate where id = ?', [id]);
        views = Number(row?.view_count);
        if (views >= 3) break;
        await sleep(100);
      }
      assert.equal(views, 3);
    });

    it('requires the admin key for writes: 401 without, 403 with a wrong one', async () => {
      const body = { title: 'x', date: '2025-01-01' };
      const none = await host.request('/api/debats/', { method: 'POST', json: body });
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), 'Bearer');
      const wrong = await host.request('/api/debats/', { method: 'POST', json: body, headers: { authorization: 'Bearer not-the-key' } });
      assert.equal(wrong.status, 403);
      assert.equal((await host.request('/api/debats/1', { method: 'PUT', json: { title: 'y' } })).status, 401);
      assert.equal((await host.request('/api/debats/1', { method: 'DELETE' })).status, 401);
      assert.equal((await host.request('/api/debats/1', { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_KEY}x` } })).status, 403);
    });

    it('rejects bad bodies with a 4xx naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ date: '2025-01-01' }, 'title'],
        [{ title: '', date: '2025-01-01' }, 'title'],
        [{ title: 'x' }, 'date'],
        [{ title: 'x', date: 'not a date' }, 'date'],
        [{ title: 'x', date: '2025-01-01', type: 'plenary' }, 'type'],
        [{ title: 'x', date: '2025-01-01', source_url: 'javascript:alert(1)' }, 'source_url'],
        [{ title: 'x', date: '2025-01-01', duration_minutes: -3 }, 'duration_minutes'],
        [{ title: 'x', date: '2025-01-01', speaker_ids: ['a'] }, 'speaker_ids.0'],
        [{ title: 'x', date: '2025-01-01', speakers: 'Élise Martin' }, 'speakers'],
        [{ title: 'x', date: '2025-01-01', ministers: [1] }, 'ministers.0'],
        [{ title: 'x', date: '2025-01-01', metadata: 'x' }, 'metadata'],
        [{ title: 'x', date: '2025-01-01', commission: 5 }, 'commission'],
        [{ title: 'x', date: '2025-01-01', commission_id: 424242 }, 'commission_id'],
        [{ title: 'x', date: '2025-01-01', speaker_ids: [424242] }, 'speaker_ids'],
        [{ title: 'x', date: '2025-01-01', start_time: '2025-01-01T10:00:00Z', end_time: '2025-01-01T09:00:00Z' }, 'end_time'],
        [[1, 2], '(root)'],
      ];
      for (const [body, field] of cases) {
        const res = await create(body as Record<string, unknown>);
        assert.equal(res.status, 422, JSON.stringify(body));
        const p = await json<Problem>(res);
        assert.ok(p.errors?.some((e) => e.field === field), `${JSON.stringify(body)} → ${JSON.stringify(p.errors)}`);
      }
      const malformed = await host.request('/api/debats/', { method: 'POST', body: '{"title": ', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` } });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.headers.get('content-type'), 'application/problem+json');
      const notJson = await host.request('/api/debats/', { method: 'POST', body: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${ADMIN_KEY}` } });
      assert.equal(notJson.status, 415);
      const huge = await host.request('/api/debats/', { method: 'POST', json: { title: 'x', date: '2025-01-01', description: 'y'.repeat(2_000_000) }, admin: true });
      assert.equal(huge.status, 413);
      // nothing was written by any of them
      assert.equal((await json<ListJson>(await host.request('/api/debats/'))).total, 5);
    });

    it('answers 409 for a duplicate source_url or (source, external_id)', async () => {
      const dup = await create({ title: 'Doublon', date: '2025-06-03', source_url: 'https://videos.example.org/video.1' });
      assert.equal(dup.status, 409);
      const p = await json<Problem & { field: string }>(dup);
      assert.equal(p.field, 'source_url');
      assert.equal((await create({ title: 'A', date: '2025-06-03', source: 'an', external_id: 'RU1' })).status, 201);
      assert.equal((await create({ title: 'B', date: '2025-06-03', source: 'an', external_id: 'RU1' })).status, 409);
      assert.equal((await create({ title: 'C', date: '2025-06-03', source: 'other', external_id: 'RU1' })).status, 201, 'same uid, other source');
    });

    it('updates only the fields sent, and the cache follows the write', async () => {
      const before = await json<ListJson>(await host.request('/api/debats/?q=Questions'));
      const id = before.debates[0]!.id;
      assert.equal((await json<DebateJson>(await host.request(`/api/debats/${id}`))).status, 'termine');
      const res = await host.request(`/api/debats/${id}`, { method: 'PUT', json: { status: 'disponible', commission_id: lois }, admin: true });
      assert.equal(res.status, 200);
      const updated = await json<DebateJson>(res);
      assert.equal(updated.status, 'disponible');
      assert.equal(updated.title, 'Questions au Gouvernement');
      assert.equal(updated.committee?.id, String(lois));
      assert.equal(updated.commission, 'Commission des lois constitutionnelles');
      assert.equal((await json<DebateJson>(await host.request(`/api/debats/${id}`))).status, 'disponible', 'detail not stale');
      assert.equal((await json<ListJson>(await host.request('/api/debats/?q=Questions'))).debates[0]?.status, 'disponible', 'list not stale');
      assert.equal((await host.request(`/api/debats/${id}`, { method: 'PUT', json: {}, admin: true })).status, 422);
      assert.equal((await host.request('/api/debats/999999', { method: 'PUT', json: { title: 'z' }, admin: true })).status, 404);
      const conflict = await host.request(`/api/debats/${id}`, { method: 'PUT', json: { source_url: 'https://videos.example.org/video.1' }, admin: true });
      assert.equal(conflict.status, 409);
    });

    it('deletes a debate and what belongs to it', async () => {
      const list = await json<ListJson>(await host.request('/api/debats/?q=réforme'));
      const id = list.debates[0]!.id;
      const res = await host.request(`/api/debats/${id}`, { method: 'DELETE', admin: true });
      assert.equal(res.status, 204);
      assert.equal((await host.request(`/api/debats/${id}`)).status, 404);
      assert.equal((await host.request(`/api/debats/${id}`, { method: 'DELETE', admin: true })).status, 404);
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      const [row] = await em.getConnection().execute<{ n: number }[]>('select count(*) as n from debate_speaker where debate_id = ?', [id]);
      assert.equal(Number(row?.n), 0);
    });

    it('reports stats', async () => {
      const stats = await json<Record<string, unknown> & { by_type: Record<string, number> }>(await host.request('/api/stats'));
      assert.equal(stats.total_debates, 6);
      assert.equal(stats.total_commissions, 2);
      assert.equal(stats.total_deputies, 2);
      assert.equal(stats.by_type.audition, 1);
      assert.equal(stats.latest_debate_date, '2026-12-02T14:00:00.000Z');
    });

    it('answers health, detailed health and metrics', async () => {
      const h = await host.request('/health');
      assert.equal(h.status, 200);
      assert.equal((await json<{ status: string }>(h)).status, 'healthy');
      const d = await json<{ status: string; database: { status: string; dialect: string }; cache: { redis: string }; plugins: Record<string, { status: string }>; process: { rss_bytes: number } }>(
        await host.request('/health/detailed'),
      );
      assert.equal(d.status, 'ok');
      assert.equal(d.database.status, 'ok');
      assert.equal(d.database.dialect, mode.name === 'sqlite' ? 'sqlite' : 'postgresql');
      assert.equal(d.cache.redis, mode.name === 'sqlite' ? 'disabled' : 'up');
      assert.equal(d.plugins.catalog?.status, 'ok');
      assert.ok(d.process.rss_bytes > 0);
      const m = await host.request('/metrics');
      assert.equal(m.status, 200);
      const text = await m.text();
      assert.match(text, /robian_http_request_duration_seconds_bucket\{le="0.001",method="GET",route="\/api\/debats\/:id",status="200"\}/);
      assert.match(text, /robian_http_requests_in_flight 1/);
      assert.match(text, /robian_cache_hits_total \d+/);
      assert.match(text, /robian_cache_misses_total \d+/);
    });

    it('serves the OpenAPI document generated from the zod schemas, Swagger UI and ReDoc', async () => {
      const doc = await json<{ openapi: string; paths: Record<string, Record<string, { parameters?: { name: string }[]; requestBody?: unknown }>>; components: { schemas: Record<string, unknown> } }>(
        await host.request('/openapi.json'),
      );
      assert.equal(doc.openapi, '3.1.0');
      const list = doc.paths['/api/debats/']?.get;
      assert.ok(list);
      assert.deepEqual(
        list.parameters?.map((p) => p.name).sort(),
        ['commission', 'date_end', 'date_start', 'depute', 'has_audio', 'page', 'per_page', 'q', 'sort_by', 'sort_order', 'status', 'type'],
      );
      assert.ok(doc.paths['/api/debats/']?.post?.requestBody);
      assert.ok(doc.paths['/api/debats/{id}']?.put);
      assert.ok(doc.components.schemas.Debate);
      assert.ok(doc.components.schemas.Problem);
      const ui = await host.request('/docs');
      assert.match(await ui.text(), /swagger-ui-bundle\.js/);
      assert.equal((await host.request('/docs/assets/swagger-ui-bundle.js')).status, 200);
      assert.equal((await host.request('/docs/assets/..%2Fpackage.json')).status, 404);
      assert.match(await (await host.request('/redoc')).text(), /redoc\.standalone\.js/);
      const redoc = await host.request('/redoc/redoc.standalone.js');
      assert.equal(redoc.status, 200);
      assert.ok((await redoc.arrayBuffer()).byteLength > 100_000);
    });

    it('gives every response a request id, and keeps a safe incoming one', async () => {
      const a = await host.request('/api/debats/999999');
      const id = a.headers.get('x-request-id');
      assert.match(id ?? '', /^[0-9a-f-]{36}$/);
      assert.equal((await json<Problem>(a)).request_id, id);
      const b = await host.request('/health', { headers: { 'x-request-id': 'trace-abc.123' } });
      assert.equal(b.headers.get('x-request-id'), 'trace-abc.123');
      const c = await host.request('/health', { headers: { 'x-request-id': 'bad id with spaces <script>' } });
      assert.notEqual(c.headers.get('x-request-id'), 'bad id with spaces <script>');
    });

    it('answers unknown routes and methods with problems', async () => {
      const nf = await host.request('/api/nope');
      assert.equal(nf.status, 404);
      assert.equal(nf.headers.get('content-type'), 'application/problem+json');
      const m = await host.request('/api/stats', { method: 'DELETE' });
      assert.equal(m.status, 405);
      assert.match(m.headers.get('allow') ?? '', /GET/);
      assert.equal(m.headers.get('content-type'), 'application/problem+json');
    });

    it('applies CORS from BACKEND_CORS_ORIGINS', async () => {
      const ok = await host.request('/api/stats', { headers: { origin: 'https://app.example.org' } });
      assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.org');
      const other = await host.request('/api/stats', { headers: { origin: 'https://evil.example' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const pre = await host.request('/api/debats/', { method: 'OPTIONS', headers: { origin: 'https://app.example.org', 'access-control-request-method': 'POST' } });
      assert.equal(pre.status, 204);
    });
  });
}
