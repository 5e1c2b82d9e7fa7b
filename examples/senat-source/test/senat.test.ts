import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkSchema } from '@robian/core';
import { STORAGE_MODES, createTestEnvironment, startTestHost, type TestEnvironment } from '@robian/test-support';
import { parseLives } from '../records.ts';
import { senatPlugin } from '../plugin.ts';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`./platform/${name}`, import.meta.url)), 'utf8');

/** A Sénat video platform on 127.0.0.1: the live list, a data.nvs, and a list that redirects. */
async function platform(): Promise<{ base: string; server: Server; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/senat_lives.json') return res.writeHead(200, { 'content-type': 'application/json' }).end(fixture('senat_lives.json').replaceAll('STREAM_BASE', base));
    if (req.url === '/Datas/senat/12345/content/data.nvs') return res.writeHead(200, { 'content-type': 'application/xml' }).end(fixture('data.nvs').replaceAll('STREAM_BASE', base));
    if (req.url === '/moved.json') return res.writeHead(302, { location: 'http://127.0.0.2/senat_lives.json' }).end();
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, hits };
}

function importCli(env: Record<string, string>, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=robian-source', cli, 'import', input], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('Sénat records', () => {
  it('reads the live list leniently: BOM, unknown fields, numbers as strings, a flux without media id named', () => {
    const { lives, problems } = parseLives(fixture('senat_lives.json'));
    assert.deepEqual(lives.map((l) => [l.flux, l.mediaId, l.commission]), [['hemicycle', '12345', null], ['salle-a', '12346', 'Commission des finances']]);
    assert.equal(lives[1]!.startsAt?.toISOString(), new Date(1764603600_000).toISOString());
    assert.deepEqual(problems.map((p) => p.flux), ['broken']);
  });
});

describe('Sénat source example', () => {
  let site: Awaited<ReturnType<typeof platform>>;
  let environment: TestEnvironment;
  before(async () => {
    site = await platform();
    environment = await createTestEnvironment('sqlite', { SENAT_BASE_URL: site.base });
  });
  after(async () => {
    site.server.close();
    await environment.cleanup();
  });

  it('imports the live list with its own command, idempotently', async () => {
    const first = await importCli(environment.env, `${site.base}senat_lives.json`);
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout.trim().split('\n').pop()!) as { debates: { created: number; skipped: number }; commissions: { created: number }; problems: { uid: string }[] };
    assert.deepEqual([report.debates.created, report.debates.skipped, report.commissions.created], [2, 1, 1]);
    assert.deepEqual(report.problems.map((p) => p.uid), ['broken']);
    const again = await importCli(environment.env, `${site.base}senat_lives.json`);
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout.trim().split('\n').pop()!) as { debates: { created: number; unchanged: number } };
    assert.deepEqual([second.debates.created, second.debates.unchanged], [0, 2]);
  });

  it('serves what it imported through the catalogue and its own route', async () => {
    const host = await startTestHost({ environment, plugins: [senatPlugin] });
    try {
      const list = (await (await host.request('/api/debats/?per_page=10')).json()) as { total: number; debates: { id: unknown; title: string; status: string }[] };
      assert.equal(list.total, 2);
      assert.ok(list.debates.every((d) => d.status === 'en_cours'));
      assert.ok(list.debates.some((d) => d.title === 'Séance publique : projet de loi de finances pour 2027 & articles'));
      const streams = (await (await host.request('/api/senat/streams')).json()) as { streams: { flux: string; debate_id: string; stream_url: string | null }[] };
      assert.deepEqual(streams.streams.map((s) => s.flux), ['hemicycle', 'salle-a']);
      assert.ok(streams.streams.every((s) => list.debates.some((d) => String(d.id) === s.debate_id)));
    } finally {
      await host.close();
    }
  });

  it('resolves a media page to the files its data.nvs lists on the platform host only', async () => {
    const host = await startTestHost({ environment, plugins: [senatPlugin] });
    try {
      const page = new URL(`${site.base}video.12345_seance`);
      const source = host.robian.kernel.sources.forUrl(page);
      assert.equal(source?.id, 'senat');
      const media = await source!.resolve(page);
      assert.deepEqual(media.candidates.map((c) => [c.kind, new URL(c.url).pathname]), [['hls', '/live/hemicycle/index.m3u8']]);
      assert.equal(host.robian.kernel.sources.forUrl(new URL('http://127.0.0.2/video.12345_seance')), undefined);
      assert.ok(host.robian.kernel.sources.mediaHosts().includes(new URL(site.base).host));
    } finally {
      await host.close();
    }
  });

  it('refuses an input off its host and never follows a redirect', async () => {
    const moved = await importCli(environment.env, `${site.base}moved.json`);
    assert.equal(moved.code, 1);
    assert.match(moved.stderr, /redirects are not followed/);
    const elsewhere = await importCli(environment.env, 'http://127.0.0.2:9/senat_lives.json');
    assert.equal(elsewhere.code, 1);
    assert.match(elsewhere.stderr, /is not the Sénat platform/);
  });
});

for (const mode of STORAGE_MODES) {
  describe(`Sénat source schema (${mode.name})`, { skip: mode.skip }, () => {
    it('its migration creates exactly what its entity describes', async () => {
      const host = await startTestHost({ mode: mode.name, plugins: [senatPlugin] });
      try {
        assert.equal((await checkSchema(host.robian.kernel.orm)).drift, '');
      } finally {
        await host.close();
      }
    });
  });
}
