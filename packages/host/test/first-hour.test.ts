import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTestEnvironment } from '@robian/test-support';
import { runCli } from './cli.ts';

const bin = fileURLToPath(new URL('../bin/robian.js', import.meta.url));

function node(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Issue #11 items 12, 13, 15: what a new user meets first. */
describe("a new user's first hour", () => {
  it('the robian command refuses an old Node with the version needed and how to get it', async () => {
    const old = await node(['--import', 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"20.11.1"})', bin, '--version']);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /needs Node\.js 22\.18 or newer; this is Node\.js 20\.11\.1/);
    assert.match(old.stderr, /pnpm env use --global 22/);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string>; engines: { node: string } };
    assert.equal(pkg.bin.robian, './bin/robian.js', 'the bin is a committed file, so pnpm links it before any build');
    assert.equal(pkg.engines.node, '>=22.18.0', 'the check and engines agree');
    const root = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    assert.match(root.scripts.robian ?? '', /bin\/robian\.js/, '`pnpm robian …` works from the repository');
    assert.match(root.scripts.start ?? '', /db seed --if-empty/);
  });

  it('no workspace package depends on one that depends on it (no cyclic workspace warning)', () => {
    const deps = (dir: string) => {
      const p = JSON.parse(readFileSync(new URL(`../../${dir}/package.json`, import.meta.url), 'utf8')) as Record<string, Record<string, string> | undefined> & { name: string };
      return { name: p.name, uses: Object.keys({ ...p.dependencies, ...p.devDependencies, ...p.peerDependencies }).filter((n) => n.startsWith('@robian/')) };
    };
    const pkgs = ['core', 'host', 'plugin-audio', 'plugin-ws', 'plugin-search', 'plugin-listeners', 'plugin-assemblee-nationale', 'test-support'].map(deps);
    const graph = new Map(pkgs.map((p) => [p.name, p.uses]));
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean => (graph.get(from) ?? []).some((n) => n === to || (!seen.has(n) && (seen.add(n), reaches(n, to, seen))));
    for (const p of pkgs) assert.ok(!reaches(p.name, p.name), `${p.name} is in a cycle`);
  });

  it('`db seed --if-empty` seeds an empty database only', async () => {
    const env = await createTestEnvironment('sqlite');
    try {
      const first = await runCli(['db', 'seed', '--if-empty'], env.env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /seeded 4 commissions/);
      const second = await runCli(['db', 'seed', '--if-empty'], env.env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /already has debates: demo not seeded/);
    } finally {
      await env.cleanup();
    }
  });
});

it('the test run checks ffmpeg, ffprobe and yt-dlp up front and names what to install', async () => {
  const script = fileURLToPath(new URL('../../../scripts/check-test-binaries.mjs', import.meta.url));
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { PATH: '/nonexistent' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /needs ffmpeg, ffprobe, yt-dlp/);
  assert.match(r.stderr, /apt-get install ffmpeg yt-dlp/);
  const root = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  assert.match(root.scripts.test ?? '', /^node scripts\/check-test-binaries\.mjs && /);
});
