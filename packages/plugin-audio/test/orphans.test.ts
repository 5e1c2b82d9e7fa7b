import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createLogger } from '@robian/core';
import { createTestEnvironment, startTestHost, type TestHost } from '@robian/test-support';
import { ProcessLedger, audioPlugin, processStart, type LedgerRecord } from '../src/index.ts';
import { FFMPEG, createDebate, extract, hlsFixture, startMediaServer, testSourcePlugin, waitRendition, type MediaServer } from './helpers.ts';
import { spawnHost } from './spawn-host.ts';

const fixture = await hlsFixture();
const exec = promisify(execFile);

/** A process's state letter from /proc (undefined: no such process). */
function state(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}
const running = (pid: number) => {
  const s = state(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
};

/** The FFmpeg children of a process writing a `.tmp` file: pid and that file. */
function ffmpegChildren(parent: number): { pid: number; tmp: string }[] {
  const found: { pid: number; tmp: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const tmp = args.at(-1) ?? '';
      if (/ffmpeg/.test(args[0] ?? '') && tmp.endsWith('.tmp')) found.push({ pid: Number(name), tmp });
    } catch {
      // exited while listed
    }
  }
  return found;
}

/**
 * Whether a process is gone or about to be (SIGKILL pending): right after `kill()` returned, the
 * kernel may not have run the process's exit yet, but the signal is already in its pending set.
 */
function killedOrGone(pid: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return true;
  }
  if (/^State:\s+[ZX]/m.test(status)) return true;
  const pending = [...status.matchAll(/^(?:SigPnd|ShdPnd):\s+([0-9a-f]+)/gm)].map((m) => BigInt(`0x${m[1]}`));
  return pending.some((mask) => (mask & (1n << 8n)) !== 0n); // SIGKILL is signal 9: bit 8
}

describe('a host killed with SIGKILL (issue #11 item 7)', () => {
  let media: MediaServer;
  before(async () => {
    media = await startMediaServer(fixture);
  });
  after(async () => {
    await media?.close();
  });

  it('the next instance kills the FFmpeg its dead predecessor started and removes its temp file at once', async () => {
    // a long lease: the second host does not take the job back during the test
    const env = await createTestEnvironment('sqlite', { EXTRACTION_POLL_INTERVAL_MS: '100', EXTRACTION_LEASE_SECONDS: '60', MAX_CONCURRENT_EXTRACTIONS: '1' });
    const first = await spawnHost({ ...env.env, TEST_MEDIA_URL: media.url });
    const child = first.process;
    let second: TestHost | undefined;
    let orphan: { pid: number; tmp: string } | undefined;
    try {
      const id = await createDebate(first, { video_url: `${media.url}/source/orphan` });
      assert.equal((await extract(first, id, { format: 'aac', quality: 'source' })).status, 202);
      assert.equal((await waitRendition(first, id, 'aac', 'source', ['ready', 'failed'])).status, 'ready');
      // the master becomes a 2-hour recording (stream copy of the 40 s one, cheap to make): deriving a
      // rendition from it is a local FFmpeg that runs long, with no network it could lose with its host
      const master = join(env.dataDir, 'audio', String(id), 'aac-source.m4a');
      const long = `${master}.long`;
      await exec(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-stream_loop', '179', '-i', master, '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4', long]);
      renameSync(long, master);
      assert.equal((await extract(first, id, { format: 'mp3', quality: '320k' })).status, 202);
      while (!orphan) {
        orphan = ffmpegChildren(child.pid!)[0];
        if (orphan && !existsSync(orphan.tmp)) orphan = undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
      await first.kill();
      // what kill -9 leaves: FFmpeg still running, writing its full-size temp file
      assert.ok(running(orphan.pid), 'FFmpeg outlived its host');
      assert.ok(existsSync(orphan.tmp), 'its temp file is there');

      second = await startTestHost({ environment: env, plugins: [testSourcePlugin(() => media.url), audioPlugin] });
      assert.equal(existsSync(orphan.tmp), false, 'the dead instance’s temp file is removed when the next one starts');
      assert.ok(killedOrGone(orphan.pid), 'the dead instance’s FFmpeg is killed when the next one starts');
      while (running(orphan.pid)) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await first.kill();
      if (orphan && running(orphan.pid)) process.kill(orphan.pid, 'SIGKILL');
      await second?.close();
      await env.cleanup();
    }
  });
});

describe('ProcessLedger', () => {
  it('kills only processes whose start time is the recorded one (a reused pid is left alone) and skips live instances', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'robian-ledger-'));
    const recorded = spawn('sleep', ['60'], { stdio: 'ignore' });
    const reused = spawn('sleep', ['60'], { stdio: 'ignore' });
    const ofLive = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const host = hostname();
      const dead = { pid: process.pid, started: 'not-this-process' }; // this pid, another start: a dead instance
      const self = { pid: process.pid, started: processStart(process.pid)! };
      const tmp = join(dir, 'x.mp3.1234abcd.tmp');
      writeFileSync(tmp, 'partial');
      const records: Record<string, LedgerRecord> = {
        'dead.json': { host, instance: dead, processes: [{ pid: recorded.pid!, started: processStart(recorded.pid!)! }, { pid: reused.pid!, started: 'another-start' }], temp: [tmp] },
        'live.json': { host, instance: self, processes: [{ pid: ofLive.pid!, started: processStart(ofLive.pid!)! }], temp: [] },
        'elsewhere.json': { host: `${host}-other-machine`, instance: dead, processes: [{ pid: ofLive.pid!, started: processStart(ofLive.pid!)! }], temp: [] },
      };
      for (const [name, r] of Object.entries(records)) writeFileSync(join(dir, name), JSON.stringify(r));
      const ledger = new ProcessLedger(dir, createLogger({ level: 'silent' }));
      const report = ledger.open();
      assert.deepEqual(report, { instances: 1, killed: [recorded.pid], removed: [tmp] });
      assert.ok(killedOrGone(recorded.pid!));
      assert.ok(running(reused.pid!) && running(ofLive.pid!));
      assert.deepEqual(readdirSync(dir).sort(), ['elsewhere.json', `${ledger.id}.json`, 'live.json'].sort());
      // this instance's own record follows what it runs
      const untrack = ledger.track(reused.pid);
      const own = () => JSON.parse(readFileSync(ledger.file, 'utf8')) as LedgerRecord;
      assert.deepEqual(own().processes.map((p) => p.pid), [reused.pid]);
      untrack();
      assert.deepEqual(own().processes, []);
      ledger.close();
      assert.equal(existsSync(ledger.file), false);
    } finally {
      for (const c of [recorded, reused, ofLive]) c.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
