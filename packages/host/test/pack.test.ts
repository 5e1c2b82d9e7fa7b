import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

const run = promisify(execFile);
const packagesDir = fileURLToPath(new URL('../../', import.meta.url));

/** Every package a user installs from npm: the ones not marked private. */
function publishablePackages(): string[] {
  return readdirSync(packagesDir).filter((dir) => {
    try {
      const pkg = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')) as { private?: boolean };
      return !pkg.private;
    } catch {
      return false;
    }
  });
}

/** The newest modification time under `dir` (files only), skipping the named directories. */
function newest(dir: string, skip: Set<string>): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path, skip) : statSync(path).mtimeMs);
  }
  return t;
}

/** The oldest modification time of the files under `dir`, or 0 when there are none. */
function oldest(dir: string): number {
  let t = Number.POSITIVE_INFINITY;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) t = Math.min(t, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return Number.isFinite(t) ? t : 0;
}

/**
 * Whether a package's `dist` was built after every one of its sources was last changed (what
 * `pnpm test` makes sure of: it builds first). Then packing need not build it again (its `prepack`).
 */
function builtAfterSources(dir: string): boolean {
  if (!existsSync(join(dir, 'dist'))) return false;
  return newest(dir, new Set(['dist', 'node_modules', 'test', 'test-artefacts', '.turbo'])) <= oldest(join(dir, 'dist'));
}

const bin = (name: string) => fileURLToPath(new URL(`../../../node_modules/.bin/${name}`, import.meta.url));

describe('npm packages', () => {
  const work = mkdtempSync(join(tmpdir(), 'robian-pack-'));
  const tarballs: string[] = [];
  before(async () => {
    for (const dir of publishablePackages()) {
      // a package built after its last change is packed as it is; any other one is built by its prepack
      const fresh = builtAfterSources(join(packagesDir, dir));
      const { stdout } = await run('pnpm', [...(fresh ? ['--config.ignore-scripts=true'] : []), 'pack', '--pack-destination', work], { cwd: join(packagesDir, dir), maxBuffer: 1 << 24 });
      const file = stdout.trim().split('\n').pop()!.trim();
      tarballs.push(file.startsWith('/') ? file : join(work, file));
    }
  }, { timeout: 900_000 }); // packing a stale package runs its build (tsup, the client's type generation, the player's Vite build)
  after(() => rmSync(work, { recursive: true, force: true }));

  it('publish only what consumers need: dist and README, no tests, no sources, no robian-source condition', async () => {
    for (const tarball of tarballs) {
      const { stdout: listing } = await run('tar', ['tzf', tarball]);
      const files = listing.trim().split('\n');
      assert.ok(files.includes('package/dist/index.js') && files.includes('package/dist/index.d.ts'), `${tarball}: ${files.join(' ')}`);
      assert.deepEqual(files.filter((f) => /\/(test|src)\//.test(f) || /\.test\./.test(f)), [], tarball);
      const { stdout: manifest } = await run('tar', ['xzf', tarball, '-O', 'package/package.json']);
      const pkg = JSON.parse(manifest) as { exports?: unknown; dependencies?: unknown; peerDependencies?: unknown; sideEffects?: unknown; repository?: unknown; bugs?: unknown; homepage?: unknown; license?: unknown };
      // (scripts may name the condition: they run in the repository, never in a consumer's install)
      assert.doesNotMatch(JSON.stringify(pkg.exports), /robian-source/, `${tarball} leaks the development condition to consumers`);
      assert.doesNotMatch(JSON.stringify([pkg.dependencies, pkg.peerDependencies]), /workspace:/, `${tarball} keeps a workspace range`);
      assert.equal(pkg.sideEffects, false, tarball);
      assert.ok(pkg.repository && pkg.bugs && pkg.homepage && pkg.license, `${tarball}: repository, bugs, homepage and license`);
    }
  });

  it('every tarball passes publint and @arethetypeswrong/cli (ESM-only profile)', { timeout: 300_000 }, async () => {
    for (const tarball of tarballs) {
      const lint = await run(bin('publint'), ['--strict', tarball]).catch((e: { stdout: string; stderr: string }) => ({ ...e, failed: true }));
      assert.ok(!('failed' in lint), `publint ${tarball}:\n${lint.stdout}${lint.stderr}`);
      const types = await run(bin('attw'), ['--profile', 'esm-only', '--format', 'ascii', tarball]).catch((e: { stdout: string; stderr: string }) => ({ ...e, failed: true }));
      assert.ok(!('failed' in types), `attw ${tarball}:\n${types.stdout}${types.stderr}`);
    }
  });

  it('pack, install into an empty project, import, and start the host from there', { timeout: 600_000 }, async () => {
    assert.ok(tarballs.some((t) => /robian-core-/.test(t)) && tarballs.some((t) => /robian-host-/.test(t)), tarballs.join(', '));
    const project = join(work, 'app');
    await run('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'robian-pack-check', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], {
      cwd: project,
      maxBuffer: 1 << 26,
      env: { ...process.env, SCARF_ANALYTICS: 'false', YOUTUBE_DL_SKIP_DOWNLOAD: '1', FFMPEG_BIN: '/usr/bin/ffmpeg', npm_config_ignore_scripts: 'true' },
    });
    writeFileSync(
      join(project, 'check.mjs'),
      `import { createRobian } from '@robian/host';
import { loadConfig, definePlugin, PLUGIN_API_VERSION } from '@robian/core';
import { playerPlugin } from '@robian/player';
const config = loadConfig({ DATA_DIR: process.argv[2], LOG_LEVEL: 'silent' });
const hello = definePlugin({ name: 'hello', version: '1.0.0', apiVersion: PLUGIN_API_VERSION, setup(ctx) { ctx.router.route({ method: 'get', path: '/hello', handler: () => ({ hello: 'world' }) }); } });
const robian = createRobian({ config, plugins: [hello, playerPlugin] });
const server = await robian.listen(0, '127.0.0.1');
const base = 'http://127.0.0.1:' + server.address().port;
const health = await (await fetch(base + '/health')).json();
const list = await (await fetch(base + '/api/debats/')).json();
const hi = await (await fetch(base + '/hello')).json();
const page = await (await fetch(base + '/', { headers: { accept: 'text/html' } })).text();
const script = /src="(\\/assets\\/[^"]+\\.js)"/.exec(page)?.[1];
const player = script ? (await fetch(base + script)).status : 0;
await robian.close();
console.log(JSON.stringify({ health: health.status, total: list.total, hi, player }));
`,
    );
    const { stdout } = await run(process.execPath, ['check.mjs', join(work, 'data')], { cwd: project });
    // the web player comes built inside the tarballs: its page names a script the host serves
    assert.deepEqual(JSON.parse(stdout.trim()), { health: 'healthy', total: 0, hi: { hello: 'world' }, player: 200 });
    const cli = await run(join(project, 'node_modules', '.bin', 'robian'), ['db', 'check'], { cwd: project, env: { ...process.env, DATA_DIR: join(work, 'data2'), LOG_LEVEL: 'silent' } }).catch(
      (e: { stdout: string; code: number }) => e,
    );
    assert.match(cli.stdout, /applied: \d+/);
  });
});
