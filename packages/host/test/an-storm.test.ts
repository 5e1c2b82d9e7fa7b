// A 429 storm from the parliament's platform, against the fake parliament: the discovery run is
// slowed, never hurried (one request at a time to the host, Retry-After honoured by every request
// that follows, not only the one that got it); a storm longer than the retries stops the run at
// its last 429 with nothing half-written, and the next run finishes the work.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DebateSchema, listTranscripts, type Debate, type EntityManager, type TaskStatus } from '@robian/core';
import { startTestHost, type TestHost } from '@robian/test-support';
import { assembleeNationalePlugin } from '@robian/plugin-assemblee-nationale';
import { fakeParliamentEnv, startFakeParliament, type FakeParliament, type FakeVideo } from './fake-parliament.ts';

const video = (n: number, meeting: string): FakeVideo => ({
  uid: `1970000${n}_cc000${n}`,
  stamp: `2025060${n}150000`,
  meetingId: meeting,
  date: 1748790000 + n * 86_400,
  title: `Séance ${n}`,
  player: 'final',
  captions: true,
});
const V1 = video(1, 'RUANR5L17S2025IDS39001');
const V2 = video(2, 'RUANR5L17S2025IDS39002');
const V3 = video(3, 'RUANR5L17S2025IDS39003');
const V4 = video(4, 'RUANR5L17S2025IDS39004');
const RETRY_AFTER_MS = 1000;

describe('a 429 storm from the platform is survived politely', () => {
  let an: FakeParliament;
  let host: TestHost;
  let listing: FakeVideo[] = [];
  const schedule = () => host.robian.kernel.services.get('assemblee.schedule');
  const em = () => host.robian.kernel.orm.em.fork() as unknown as EntityManager;
  const debateOf = async (v: FakeVideo) => (await em().findOne(DebateSchema, { source: 'assemblee-nationale', externalId: v.meetingId! }, { disableIdentityMap: true })) as Debate | null;
  /** Linked, every chapter timed, captions stored: what a clean run leaves. */
  const complete = async (v: FakeVideo) => {
    const d = await debateOf(v);
    if (!d?.sourceUrl?.includes(`/video.${v.uid}`)) return false;
    const transcripts = await listTranscripts(em(), d.id);
    return (d.chapters ?? []).length === 26 && (d.chapters ?? []).every((c) => c.start_seconds !== null) && transcripts.some((t) => t.source === 'captions' && t.segments === 51);
  };
  /** Not linked, or linked with nothing of the enrichment written (untimed chapters, no transcript). */
  const untouched = async (v: FakeVideo) => {
    const d = await debateOf(v);
    if (!d?.sourceUrl) return 'unlinked';
    const timed = (d.chapters ?? []).some((c) => c.start_seconds !== null);
    const transcripts = await listTranscripts(em(), d.id);
    return !timed && transcripts.length === 0 ? 'linked, not enriched' : `half-written: timed ${timed}, transcripts ${transcripts.map((t) => t.source).join(',')}`;
  };
  /** After each 429 the host's next request waited Retry-After, whichever request it was. */
  const assertRetryAfterHonoured = (log: FakeParliament['log']) => {
    const platform = log.filter((e) => !/^\/(vod|live\/live[^/]+)\//.test(e.path));
    for (let i = 1; i < platform.length; i++) {
      if (platform[i - 1]!.status !== 429) continue;
      const gap = platform[i]!.at - platform[i - 1]!.at;
      // both times are the fake's clock; the fetcher waits the full Retry-After after reading the 429
      assert.ok(gap >= RETRY_AFTER_MS - 5, `${platform[i]!.path} came ${gap} ms after the 429 of ${platform[i - 1]!.path} (Retry-After: 1)`);
    }
  };

  before(async () => {
    an = await startFakeParliament({ videos: [V1, V2, V3, V4], listed: () => listing });
    an.storm.retryAfter = RETRY_AFTER_MS / 1000;
    host = await startTestHost({
      plugins: [assembleeNationalePlugin],
      env: {
        ...fakeParliamentEnv(an.url),
        AN_SCHEDULE: 'off',
        AN_CATCHUP_DAYS: '0',
        AN_MAX_RETRIES: '2',
        AN_MAX_CONCURRENT_REQUESTS: '4',
        AUTO_EXTRACT: 'off',
      },
    });
  });
  after(async () => {
    await host?.close();
    await an?.close();
  });

  it('every third request answered 429: the runs are slowed, one request at a time, and complete', async () => {
    listing = [V1, V2];
    an.storm.every = 3;
    const from = an.log.length;
    // two tasks at once share the host's one slot
    const [videos, live] = await Promise.all([schedule().run('videos'), schedule().run('live')]);
    an.storm.every = 0;
    const log = an.log.slice(from);
    assert.equal(videos.last_outcome, 'ok', JSON.stringify(videos.last_summary));
    assert.equal(live.last_outcome, 'ok', live.last_error ?? '');
    assert.equal((videos.last_summary as { linked: number }).linked, 2);
    assert.ok(log.filter((e) => e.status === 429).length >= 3, `429s: ${log.filter((e) => e.status === 429).length}`);
    assert.equal(an.maxInFlight, 1, 'one request at a time to the host');
    assertRetryAfterHonoured(log);
    for (const v of [V1, V2]) assert.equal(await complete(v), true, `${v.uid} linked and enriched`);
  });

  it('a burst longer than the retries stops the run at its last 429, nothing half-written; the next run finishes the work', async () => {
    listing = [V1, V2, V3, V4];
    // the listing, V3's page and data.nvs pass; then 3 × 429 in a row (1 try + AN_MAX_RETRIES 2)
    an.storm.after = 3;
    an.storm.remaining = 3;
    const from = an.log.length;
    const stormed: TaskStatus = await schedule().run('videos');
    const log = an.log.slice(from);
    assert.equal(an.storm.remaining, 0);
    assert.equal(stormed.last_outcome, 'failed');
    assert.match(stormed.last_error ?? '', /throttled by the platform.*HTTP 429/);
    const summary = stormed.last_summary as { linked: number; deferred: number[]; failed: number; pending: number; throttled: string };
    assert.equal(log.at(-1)!.status, 429, `the run stopped at the 429 that exhausted the retries: ${log.map((e) => `${e.status} ${e.path}`).join(', ')}`);
    assert.deepEqual(log.slice(-3).map((e) => e.status), [429, 429, 429]);
    assertRetryAfterHonoured(log);
    assert.equal(an.maxInFlight, 1);
    assert.equal(summary.failed, 0, 'throttling is not a failure of the videos (they are not put off for an hour)');
    // V3 was linked before its player timeline was refused: linked, its enrichment deferred, nothing of it written
    const d3 = (await debateOf(V3))!;
    assert.deepEqual(summary.deferred, [d3.id]);
    assert.equal(await untouched(V3), 'linked, not enriched');
    assert.equal(await untouched(V4), 'unlinked', 'V4 was not asked for');
    assert.equal(summary.pending, 1);

    const next = await schedule().run('videos');
    assert.equal(next.last_outcome, 'ok', JSON.stringify(next.last_summary));
    const s = next.last_summary as { linked: number; resumed: number[]; deferred: number[] };
    assert.deepEqual(s.resumed, [d3.id]);
    assert.deepEqual(s.deferred, []);
    assert.equal(s.linked, 1);
    for (const v of [V1, V2, V3, V4]) assert.equal(await complete(v), true, `${v.uid} linked and enriched`);
    // and then nothing left: a run costs the listing alone
    const quiet = an.log.length;
    const last = await schedule().run('videos');
    assert.equal((last.last_summary as { new: number }).new, 0);
    assert.deepEqual(an.log.slice(quiet).map((e) => e.path), ['/php/eventsearch.php']);
  });
});
