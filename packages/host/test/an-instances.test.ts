// Two host processes (test/fixtures/serve.ts: the official plugins, workers on, as `robian serve`)
// on one PostgreSQL, running the Assemblée nationale's scheduled tasks against one fake parliament:
// each task runs once per interval across both, and when the instance holding a task is killed
// (SIGKILL) mid-run the other takes the task over once its lease has expired, not before.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScheduledTaskSchema, createKernel, createLogger, type RobianKernel, type ScheduledTask } from '@robian/core';
import { createTestEnvironment, serverModeSkip, type TestEnvironment } from '@robian/test-support';
import { spawnHost, type ChildHost } from '../../plugin-audio/test/spawn-host.ts';
import { fakeParliamentEnv, startFakeParliament, until, type FakeParliament } from './fake-parliament.ts';

const SERVE = fileURLToPath(new URL('./fixtures/serve.ts', import.meta.url));
const LIVE_INTERVAL_MS = 2000;
const LEASE_MS = 3000;

describe('two instances on one PostgreSQL run the Assemblée nationale tasks', { skip: serverModeSkip() }, () => {
  let env: TestEnvironment;
  let an: FakeParliament;
  let kernel: RobianKernel;
  const hosts: ChildHost[] = [];
  const row = async (name: string) => (await kernel.orm.em.fork().findOne(ScheduledTaskSchema, { name }, { disableIdentityMap: true })) as ScheduledTask | null;
  const liveRequests = () => an.log.filter((e) => e.path === '/live/live.txt');

  before(async () => {
    an = await startFakeParliament({ videos: [], listed: () => [] });
    env = await createTestEnvironment('postgresql+redis', {
      ...fakeParliamentEnv(an.url),
      // a dataset the fake does not have: one 404 per run, and the run is a day apart
      AN_OPEN_DATA_URLS: 'data/absent.zip',
      AN_LIVE_INTERVAL: String(LIVE_INTERVAL_MS / 1000),
      AN_VIDEOS_INTERVAL: '3600',
      AN_CATCHUP_DAYS: '0',
      AN_SCHEDULE_LEASE_SECONDS: String(LEASE_MS / 1000),
      AN_SCHEDULE_TICK_MS: '50',
      LOG_LEVEL: 'error',
    });
    // one after the other: the first one migrates the database
    hosts.push(await spawnHost(env.env, SERVE));
    hosts.push(await spawnHost(env.env, SERVE));
    kernel = createKernel({ config: env.config, logger: createLogger({ level: 'silent' }), defaultMetrics: false });
    await kernel.start();
  });
  after(async () => {
    await Promise.all(hosts.map((h) => h.kill()));
    await kernel?.stop();
    await env?.cleanup();
    await an?.close();
  });

  it('each task runs once per interval, whichever instance runs it', async () => {
    const from = liveRequests().length;
    // both instances look for due tasks every 50 ms for a few intervals
    await until('four runs of the live task', () => liveRequests().length - from >= 4 && true, 60_000);
    const polls = liveRequests().slice(from);
    for (let i = 1; i < polls.length; i++) {
      const gap = polls[i]!.at - polls[i - 1]!.at;
      // two instances running the task in the same interval would poll milliseconds apart
      assert.ok(gap >= LIVE_INTERVAL_MS / 2, `live.txt polls ${i - 1} and ${i} are ${gap} ms apart (interval ${LIVE_INTERVAL_MS} ms)`);
    }
    // one poll per run (nothing on air): the row, which both instances write, counts every poll (one may be in flight)
    const live = (await row('assemblee.live'))!;
    const total = liveRequests().length;
    assert.ok(live.runs === total || live.runs === total - 1, `${live.runs} runs recorded for ${total} polls`);
    // the daily and hourly tasks ran once, not once per instance
    assert.equal(an.hits.get('/data/absent.zip'), 1, 'the open-data task: one request for both instances');
    assert.equal((await row('assemblee.open-data'))!.runs, 1);
    assert.equal((await row('assemblee.transcripts'))!.runs, 1);
    assert.equal((await row('assemblee.videos'))!.runs, 1);
    assert.equal(an.hits.get('/php/eventsearch.php'), 1);
  });

  it('the instance holding the live task is killed mid-run: the other takes it over once the lease has expired', async () => {
    // the next live.txt request is never answered: its run holds the lease until its holder dies
    an.stall.set('/live/live.txt', 1);
    const stalled = await until('a held live.txt request', () => an.log.find((e) => e.path === '/live/live.txt' && e.status === 0));
    const held = (await row('assemblee.live'))!;
    const holder = hosts.find((h) => held.owner?.includes(`:${h.process.pid}:`));
    assert.ok(holder, `the live task is held by one of the two hosts (owner ${held.owner})`);
    const other = hosts.find((h) => h !== holder)!;
    const runsBefore = held.runs;
    // while it runs, the other instance does not run it, even when it is due again
    await sleep(LIVE_INTERVAL_MS + 500);
    assert.equal(liveRequests().filter((e) => e.at > stalled.at).length, 0, 'no other live.txt poll while the lease is held');
    const lease = (await row('assemblee.live'))!;
    assert.equal(lease.owner, held.owner, 'the holder renews its lease while the run goes on');
    const leaseAtKill = new Date(lease.leaseExpiresAt!).getTime();
    await holder.kill();
    assert.equal(holder.process.signalCode, 'SIGKILL');
    const takeover = await until('the other instance to poll live.txt', () => liveRequests().find((e) => e.at > stalled.at), 30_000);
    // the survivor claimed the task only once the dead holder's lease had run out
    assert.ok(takeover.at >= leaseAtKill, `took over at ${new Date(takeover.at).toISOString()}, before the lease's end ${new Date(leaseAtKill).toISOString()}`);
    const done = await until('the taken-over run to be recorded', async () => {
      const r = (await row('assemblee.live'))!;
      return r.runs > runsBefore && r;
    });
    assert.equal(done.lastOutcome, 'ok', done.lastError ?? '');
    assert.ok(!done.owner || done.owner.includes(`:${other.process.pid}:`), `owner now ${done.owner}`);
    // and it goes on running it, once per interval
    await until('the next run on the survivor', () => liveRequests().filter((e) => e.at > stalled.at).length >= 2 && true, 30_000);
    const after = liveRequests().filter((e) => e.at > stalled.at);
    assert.ok(after[1]!.at - after[0]!.at >= LIVE_INTERVAL_MS / 2, 'the survivor polls once per interval');
    assert.equal((await other.request('/health')).status, 200);
  });
});
