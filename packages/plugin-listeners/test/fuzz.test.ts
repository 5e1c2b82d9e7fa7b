import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ADMIN_KEY, STORAGE_MODES, type TestHost } from '@robian/test-support';
import { LISTENER_TABLES } from '@robian/plugin-listeners';
import { as, json, newDebate, newDevice, startListenersHost, type Tokens } from './helpers.ts';

/**
 * Property: whatever arrives (malformed bodies, query strings, headers, path segments) on any
 * documented route, the server answers with a status below 500, in problem+json when it refuses,
 * keeps running, and a refused request leaves the database as it was.
 */
const RUNS: Record<string, number> = { sqlite: Number(process.env.FUZZ_RUNS ?? 2500), 'postgresql+redis': Number(process.env.FUZZ_RUNS_SERVER ?? 1000) };

const TABLES = ['commission', 'deputy', 'debate', 'debate_speaker', 'audio_file', ...LISTENER_TABLES];
/** Columns that change on their own, outside the request that is checked (buffered view counts). */
const VOLATILE = new Set(['view_count']);

type Conn = { execute<T>(sql: string, params?: unknown[]): Promise<T> };

async function checksum(host: TestHost): Promise<string> {
  const conn = (host.robian.kernel.orm.em.fork() as unknown as { getConnection(): Conn }).getConnection();
  const hash = createHash('sha256');
  for (const t of TABLES) {
    const rows = await conn.execute<Record<string, unknown>[]>(`select * from ${t}`);
    const lines = rows
      .map((r) => JSON.stringify(Object.entries(r).filter(([k]) => !VOLATILE.has(k)).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : String(v)])))
      .sort();
    hash.update(`${t}:${rows.length}:${lines.join('\n')}\n`);
  }
  return hash.digest('hex');
}

const printable = (max: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });
const anyText = (max: number) => fc.string({ unit: 'grapheme', maxLength: max });

for (const mode of STORAGE_MODES) {
  describe(`fuzz (${mode.name})`, { skip: mode.skip }, () => {
    let host: TestHost;
    let user: Tokens;
    const ids: { debates: number[]; collections: number[] } = { debates: [], collections: [] };
    before(async () => {
      host = await startListenersHost(mode.name, { RATE_LIMIT_PER_MINUTE: '1000000', RATE_LIMIT_STRICT_PER_MINUTE: '1000000' });
      ids.debates.push(await newDebate(host), await newDebate(host));
      user = await newDevice(host);
      const U = as(host, user.access_token);
      const c = await json<{ id: number }>(await U('/api/collections/', { method: 'POST', json: { name: 'seed', is_public: true } }), 201);
      const p = await json<{ id: number }>(await U('/api/collections/', { method: 'POST', json: { name: 'private' } }), 201);
      ids.collections.push(c.id, p.id);
      await json(await U(`/api/collections/${c.id}/debats/${ids.debates[0]}`, { method: 'POST' }), 201);
      await json(await U(`/api/favorites/${ids.debates[0]}`, { method: 'POST', json: { note: 'n', tags: ['t'] } }), 201);
      await json(await U(`/api/me/progress/${ids.debates[1]}`, { method: 'PUT', json: { position_seconds: 3 } }), 200);
    });
    after(() => host?.close());

    it('never answers 5xx nor crashes, and refused requests change nothing', async () => {
      const routes = host.robian.kernel.openapi.routes();
      assert.ok(routes.length >= 25, `expected the documented routes, got ${routes.length}`);
      const seen = new Set<string>();
      const stats: Record<number, number> = {};
      const RUNS_NOW = RUNS[mode.name] ?? 500;

      const segment = fc.oneof(
        fc.constantFrom(...ids.debates.map(String), ...ids.collections.map(String)),
        fc.integer({ min: -5, max: 2 ** 53 }).map(String),
        fc.constantFrom('0', '-1', '1e3', '0x10', '1.5', ' 1', '%00', '%zz', '%', '..', '%2e%2e', '%2F', 'null', 'undefined', '[]', '{}', '9'.repeat(400)),
        anyText(40).map(encodeURIComponent),
      );
      const queryString = fc.oneof(
        fc.constant(''),
        fc.array(fc.tuple(fc.oneof(fc.constantFrom('page', 'per_page', 'q', 'sort_by', 'sort_order', 'type', 'status', 'date_start', 'has_audio', 'page[]', '__proto__'), anyText(10)), anyText(30)), { maxLength: 6 }).map(
          (pairs) => '?' + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
        ),
        printable(60).map((raw) => '?' + raw.replace(/#/g, '')),
      );
      // `user` is the current token of a seeded listener (re-created if a request erased it)
      const authorization = fc.oneof(
        { arbitrary: fc.constant('user'), weight: 6 },
        { arbitrary: fc.constant(undefined), weight: 2 },
        { arbitrary: fc.constant(`Bearer ${ADMIN_KEY}`), weight: 1 },
        { arbitrary: fc.constantFrom('tampered', 'refresh'), weight: 1 },
        { arbitrary: printable(80), weight: 1 },
        { arbitrary: printable(80).map((t) => `Bearer ${t}`), weight: 1 },
      );
      const contentType = fc.oneof(
        { arbitrary: fc.constant('application/json'), weight: 6 },
        { arbitrary: fc.constant(undefined), weight: 1 },
        { arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/problem+json', 'multipart/form-data; boundary=x'), weight: 1 },
        { arbitrary: printable(40), weight: 1 },
      );
      const fieldNames = ['name', 'description', 'color', 'icon', 'sort_order', 'is_public', 'note', 'tags', 'position', 'position_seconds', 'rendition', 'updated_at', 'debate_ids', 'refresh_token', 'code', 'device_name', 'all_devices', 'title', 'date', 'type', 'status', '__proto__', 'constructor'];
      const body = fc.oneof(
        fc.constant(undefined),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc.dictionary(fc.constantFrom(...fieldNames), fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyText(300), fc.double(), fc.integer())).map((v) => JSON.stringify(v)),
        anyText(200),
        fc.constantFrom('{', '{"a":', '[', 'nul', '"\\ud800"', '{"name":"\u0000"}', '1e999', '{"position_seconds":1e400}', '{"__proto__":{"admin":true}}'),
      );
      const extraHeaders = fc.dictionary(fc.constantFrom('x-request-id', 'accept', 'origin', 'x-forwarded-for', 'if-none-match', 'range', 'accept-encoding'), printable(60), { maxKeys: 3 });

      const request = fc.record({ route: fc.constantFrom(...routes), segments: fc.array(segment, { minLength: 3, maxLength: 3 }), queryString, authorization, contentType, body, extraHeaders });

      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          let i = 0;
          const path = r.route.path.replace(/\{[^}]+\}/g, () => r.segments[i++] ?? '1');
          const headers: Record<string, string> = { ...r.extraHeaders };
          if (r.authorization === 'user') headers.authorization = `Bearer ${user.access_token}`;
          else if (r.authorization === 'tampered') headers.authorization = `Bearer ${user.access_token.slice(0, -3)}abc`;
          else if (r.authorization === 'refresh') headers.authorization = `Bearer ${user.refresh_token}`;
          else if (r.authorization !== undefined) headers.authorization = r.authorization;
          if (r.contentType !== undefined && r.body !== undefined) headers['content-type'] = r.contentType;
          const sendsBody = r.body !== undefined && !['GET', 'HEAD'].includes(r.route.method);
          const before = await checksum(host);
          const res = await fetch(host.url + path + r.queryString, { method: r.route.method, headers, ...(sendsBody ? { body: r.body } : {}) });
          const text = await res.text();
          seen.add(`${r.route.method} ${r.route.path}`);
          stats[res.status] = (stats[res.status] ?? 0) + 1;
          assert.ok(res.status < 500, `${r.route.method} ${path}${r.queryString} answered ${res.status}: ${text}`);
          if (res.status >= 400) {
            assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, `${r.route.method} ${path} ${res.status}`);
            assert.equal(await checksum(host), before, `${r.route.method} ${path} was refused with ${res.status} but changed the database`);
          }
          if (r.route.method === 'DELETE' && r.route.path === '/api/me' && res.status === 204) user = await newDevice(host);
          if (r.route.path === '/api/auth/logout' && res.status === 204) user = await newDevice(host);
        }),
        { numRuns: RUNS_NOW },
      );
      // every route was hit, and the server still answers
      assert.deepEqual([...seen].sort(), [...new Set(routes.map((r) => `${r.method} ${r.path}`))].sort());
      assert.equal((await fetch(`${host.url}/health`)).status, 200);
      // a meaningful mix: accepted requests as well as refusals of each kind
      assert.ok((stats[200] ?? 0) + (stats[201] ?? 0) > RUNS_NOW / 10, JSON.stringify(stats));
      for (const status of [400, 401, 404, 415, 422]) assert.ok((stats[status] ?? 0) > 0, `no ${status} in ${JSON.stringify(stats)}`);
    });
  });
}
