import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';

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

describe('npm packages', () => {
  it('pack, install into an empty project, import, and start the host from there', { timeout: 600_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'robian-pack-'));
    try {
      const tarballs: string[] = [];
      for (const dir of publishablePackages()) {
        const { stdout } = await run('pnpm', ['pack', '--pack-destination', work], { cwd: join(packagesDir, dir), maxBuffer: 1 << 24 });
        const file = stdout.trim().split('\n').pop()!.trim();
        tarballs.push(file.startsWith('/') ? file : join(work, file));
      }
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
const config = loadConfig({ DATA_DIR: process.argv[2], LOG_LEVEL: 'silent' });
const hello = definePlugin({ name: 'hello', version: '1.0.0', apiVersion: PLUGIN_API_VERSION, setup(ctx) { ctx.router.route({ method: 'get', path: '/hello', handler: () => ({ hello: 'world' }) }); } });
const robian = createRobian({ config, plugins: [hello] });
const server = await robian.listen(0, '127.0.0.1');
const base = 'http://127.0.0.1:' + server.address().port;
const health = await (await fetch(base + '/health')).json();
const list = await (await fetch(base + '/api/debats/')).json();
const hi = await (await fetch(base + '/hello')).json();
await robian.close();
console.log(JSON.stringify({ health: health.status, total: list.total, hi }));
`,
      );
      const { stdout } = await run(process.execPath, ['check.mjs', join(work, 'data')], { cwd: project });
      assert.deepEqual(JSON.parse(stdout.trim()), { health: 'ok', total: 0, hi: { hello: 'world' } });
      const bin = await run(join(project, 'node_modules', '.bin', 'robian'), ['db', 'check'], { cwd: project, env: { ...process.env, DATA_DIR: join(work, 'data2'), LOG_LEVEL: 'silent' } }).catch(
        (e: { stdout: string; code: number }) => e,
      );
      assert.match(bin.stdout, /applied: \d+/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
