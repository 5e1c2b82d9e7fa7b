import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@robian/core';
import { createTestEnvironment, type TestEnvironment } from '@robian/test-support';
import { io as ioClient } from 'socket.io-client';
import WebSocket from 'ws';
import { createRobian } from '../src/app.ts';
import { officialPlugins } from '../src/official.ts';
import { seedDemo } from '../src/seed.ts';
import { cli } from './cli.ts';
import { DEPLOY, run } from './deploy-helpers.ts';

/**
 * deploy/nginx/robian.conf in front of two `robian serve` processes sharing one DATA_DIR: a list,
 * a Range seek on audio (and its cache), /ws and socket.io sessions through it, and the client
 * address the rate limiter sees (behind the trusted proxy, and not from anyone else). Then: every
 * metric a Prometheus rule or a Grafana dashboard reads is exported by these running hosts.
 */

const RATE_LIMIT = 10;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(url: string, options: { headers?: Record<string, string>; localAddress?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: options.headers ?? {}, ...(options.localAddress ? { localAddress: options.localAddress } : {}), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function startHost(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--conditions=robian-source', cli, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out.slice(-2000)}`)));
  });
  child.stdout!.resume();
  return { child, url };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** The metric names an expression reads (`up` and `robian_*`, histogram suffixes dropped; recording rules aside). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/(?<![\w:.$"{])(robian_[a-z0-9_]+|up)(?=\s*[{[()\s]|$|\s*(?:==|!=|>|<|\/|\*|-|\+))/g)) {
    names.add(m[1]!.replace(/_(bucket|count|sum)$/, ''));
  }
  return [...names];
}

describe('nginx in front of two hosts (deploy/nginx/robian.conf)', () => {
  let env: TestEnvironment;
  let dir: string;
  let nginx: ChildProcess | undefined;
  const hosts: { child: ChildProcess; url: string }[] = [];
  let base = '';
  let debateId = 0;
  let audio: Buffer;

  before(async () => {
    env = await createTestEnvironment('sqlite', {
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      TRUST_PROXY: 'true',
      // only nginx (on 127.0.0.1) may say who the client is; 127.0.0.5 talking to a host directly may not
      TRUSTED_PROXIES: '127.0.0.1/32',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      HOST: '127.0.0.1',
      PORT: '0',
    });
    // a catalogue and one 3 MiB rendition on disk, as an extraction leaves it
    const robian = createRobian({ config: loadConfig({ ...env.env, AUDIO_WORKERS: 'false' }), plugins: officialPlugins(), workers: false, defaultMetrics: false });
    await robian.start();
    try {
      await seedDemo(robian.kernel);
      const conn = robian.kernel.em().getConnection();
      const [row] = await conn.execute<{ id: number }[]>('select id from debate order by id limit 1');
      debateId = row!.id;
      audio = randomBytes(3 * 1024 * 1024 + 12345);
      mkdirSync(join(env.dataDir, 'audio', String(debateId)), { recursive: true });
      writeFileSync(join(env.dataDir, 'audio', String(debateId), 'mp3-128k.mp3'), audio);
      const now = new Date().toISOString();
      await conn.execute(
        'insert into audio_file (debate_id, format, quality, storage_key, mime_type, file_size, duration_seconds, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [debateId, 'mp3', '128k', `${debateId}/mp3-128k.mp3`, 'audio/mpeg', audio.length, 200, now, now],
      );
    } finally {
      await robian.close();
    }
    hosts.push(await startHost(env.env), await startHost(env.env));

    dir = mkdtempSync(join(tmpdir(), 'robian-nginx-'));
    const port = await freePort();
    writeFileSync(join(dir, 'upstream.conf'), hosts.map((h) => `server ${h.url.slice('http://'.length)} max_fails=3 fail_timeout=10s;`).join('\n') + '\n');
    const site = readFileSync(join(DEPLOY, 'nginx/robian.conf'), 'utf8')
      .replace(/listen 80;/, `listen 127.0.0.1:${port};`)
      .replace(/\n\s*listen \[::\]:80;/, '')
      .replaceAll('/etc/nginx/robian-upstream.conf', join(dir, 'upstream.conf'))
      .replaceAll('/etc/nginx/robian-proxy-headers.conf', join(DEPLOY, 'nginx/proxy-headers.conf'))
      .replace('/var/cache/nginx/robian', join(dir, 'cache'));
    writeFileSync(join(dir, 'robian.conf'), site);
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi', 'cache']) mkdirSync(join(dir, d));
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off;\nworker_processes 1;\nuser root root;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 512; }\n` +
        `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n  include ${dir}/robian.conf;\n}\n`,
    );
    const test = await run('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')]);
    assert.equal(test.code, 0, test.stderr);
    assert.match(test.stderr, /test is successful/);
    nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      const ok = await get(`${base}/health`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = once(nginx, 'exit');
      nginx.kill('SIGQUIT');
      await exited;
    }
    await Promise.all(hosts.map((h) => stop(h.child)));
    if (dir) rmSync(dir, { recursive: true, force: true });
    await env?.cleanup();
  });

  it('lists debates through nginx', async () => {
    const r = await get(`${base}/api/debats/`, { localAddress: '127.0.0.3' });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /json/);
    assert.ok(JSON.parse(r.body.toString()), 'a JSON body');
    assert.ok(r.headers['x-request-id'], "nginx's request id reaches Robian and comes back");
  });

  it('seeks into the audio with Range (206 from 1 MiB slices, then from the cache); If-Range is honoured', async () => {
    const path = `${base}/api/debats/${debateId}/audio?format=mp3&quality=128k`;
    const start = 2_000_000;
    const first = await get(path, { headers: { Range: `bytes=${start}-${start + 99}` }, localAddress: '127.0.0.3' });
    assert.equal(first.status, 206);
    assert.equal(first.headers['content-range'], `bytes ${start}-${start + 99}/${audio.length}`);
    assert.ok(first.body.equals(audio.subarray(start, start + 100)), 'the bytes of the range');
    assert.equal(first.headers['x-cache-status'], 'MISS');
    const again = await get(path, { headers: { Range: `bytes=${start + 100}-${start + 199}` }, localAddress: '127.0.0.3' });
    assert.equal(again.status, 206);
    assert.ok(again.body.equals(audio.subarray(start + 100, start + 200)));
    assert.equal(again.headers['x-cache-status'], 'HIT', 'the same slice comes from the cache');
    // another signature of the same rendition shares the cached slice
    const signed = await get(`${path}&expires=${Math.floor(Date.now() / 1000) + 600}&signature=whatever`, { headers: { Range: `bytes=${start}-${start + 9}` }, localAddress: '127.0.0.3' });
    assert.ok([206, 403].includes(signed.status));
    const tail = await get(path, { headers: { Range: 'bytes=-100' }, localAddress: '127.0.0.3' });
    assert.equal(tail.status, 206);
    assert.ok(tail.body.equals(audio.subarray(audio.length - 100)));
    const etag = String(first.headers.etag);
    assert.match(etag, /^"/, "Robian's strong ETag passes through");
    const kept = await get(path, { headers: { Range: 'bytes=10-19', 'If-Range': etag }, localAddress: '127.0.0.3' });
    assert.equal(kept.status, 206);
    assert.ok(kept.body.equals(audio.subarray(10, 20)));
    const changed = await get(path, { headers: { Range: 'bytes=10-19', 'If-Range': '"another-version"' }, localAddress: '127.0.0.3' });
    assert.equal(changed.status, 200, 'a stale If-Range gets the whole file');
    assert.equal(changed.body.length, audio.length);
    assert.ok(changed.body.equals(audio));
  });

  it('upgrades /ws through nginx', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`, { localAddress: '127.0.0.3' });
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (m: Buffer) => resolve(m.toString()));
      ws.once('error', reject);
      setTimeout(() => reject(new Error('no message on /ws within 10 s')), 10_000).unref();
    });
    assert.ok(JSON.parse(first), 'the server speaks first, in JSON');
    ws.close();
  });

  it('holds socket.io sessions through nginx, over WebSocket and over long-polling (sticky)', async () => {
    for (const transports of [['websocket'], ['polling']] as const) {
      const socket = ioClient(base, { transports: [...transports], reconnection: false, timeout: 10_000, forceNew: true });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
        const reply = (await socket.timeout(10_000).emitWithAck('ping')) as { type?: string };
        assert.equal(reply.type, 'pong', `ping over ${transports[0]}`);
      } finally {
        socket.disconnect();
      }
    }
  });

  it('rate-limits the client behind nginx, not nginx itself, and believes X-Forwarded-For only from nginx', async () => {
    // 127.0.0.2 through nginx, writing a different X-Forwarded-For each time: nginx replaces it
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT * 2 + 2; i++) {
      statuses.push((await get(`${base}/api/debats/`, { headers: { 'X-Forwarded-For': `198.51.100.${i}` }, localAddress: '127.0.0.2' })).status);
    }
    assert.equal(statuses.at(-1), 429, `two hosts × ${RATE_LIMIT}: ${statuses.join(' ')}`);
    // another client through the same nginx is counted apart
    assert.equal((await get(`${base}/api/debats/`, { localAddress: '127.0.0.4' })).status, 200);
    // straight to a host from an address that is not a trusted proxy: its X-Forwarded-For is ignored
    const direct: number[] = [];
    for (let i = 0; i < RATE_LIMIT + 1; i++) {
      direct.push((await get(`${hosts[0]!.url}/api/debats/`, { headers: { 'X-Forwarded-For': `203.0.113.${i}` }, localAddress: '127.0.0.5' })).status);
    }
    assert.equal(direct.at(-1), 429, direct.join(' '));
  });

  it('every metric a Prometheus rule or a Grafana dashboard reads is exported by the running hosts', async () => {
    const exported = new Set<string>(['up']); // Prometheus' own, per target
    for (const h of hosts) {
      const r = await get(`${h.url}/metrics`);
      assert.equal(r.status, 200);
      for (const m of r.body.toString().matchAll(/^# TYPE (\S+) /gm)) exported.add(m[1]!);
    }
    const exprs: { where: string; expr: string }[] = [];
    const rules = readFileSync(join(DEPLOY, 'prometheus/rules/robian.yml'), 'utf8');
    for (const m of rules.matchAll(/^\s+expr: (.+)$/gm)) exprs.push({ where: 'rules/robian.yml', expr: m[1]! });
    for (const file of readdirSync(join(DEPLOY, 'grafana/dashboards'))) {
      const dash = JSON.parse(readFileSync(join(DEPLOY, 'grafana/dashboards', file), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
      for (const p of dash.panels) for (const t of p.targets) exprs.push({ where: `${file} "${p.title}"`, expr: t.expr });
    }
    assert.ok(exprs.length > 40);
    const missing = exprs.flatMap(({ where, expr }) => metricNames(expr).filter((n) => !exported.has(n)).map((n) => `${n} (${where})`));
    assert.deepEqual(missing, []);
    // the check can fail: a name no host exports is caught
    assert.deepEqual(metricNames('rate(robian_no_such_metric_total[5m])').filter((n) => !exported.has(n)), ['robian_no_such_metric_total']);
  });

  it('counts plays and listening time: a metric by committee and a row per debate and day', async () => {
    const host = hosts[0]!;
    const whole = await get(`${host.url}/api/debats/${debateId}/audio?format=mp3&quality=128k`, { localAddress: '127.0.0.6' });
    assert.equal(whole.status, 200);
    assert.equal(whole.body.length, audio.length);
    const text = (await get(`${host.url}/metrics`)).body.toString();
    const plays = [...text.matchAll(/^robian_audio_plays_total\{committee="([^"]+)"\} (\d+)/gm)].reduce((a, m) => a + Number(m[2]), 0);
    assert.ok(plays >= 1, text.split('\n').filter((l) => l.startsWith('robian_audio_')).join('\n'));
    const listened = [...text.matchAll(/^robian_audio_listened_seconds_total\{committee="[^"]+"\} ([\d.e+]+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
    assert.ok(listened >= 200, `the whole 200 s file was sent: ${listened}`);
    // the rows are written in batches, and at stop
    await stop(host.child);
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(join(env.dataDir, 'robian.db'), { readOnly: true });
    try {
      const row = db.prepare('select sum(plays) as plays, sum(listened_seconds) as seconds from audio_play_daily where debate_id = ?').get(debateId) as { plays: number; seconds: number };
      assert.ok(row.plays >= 1 && row.seconds >= 200, JSON.stringify(row));
    } finally {
      db.close();
    }
  });
});
