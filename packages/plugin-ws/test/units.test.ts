import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressThrottle, envelope, parseChannel, publicationsFor } from '@robian/plugin-ws';
import { sleep } from './helpers.ts';

describe('channels', () => {
  it('accepts the documented channels only', () => {
    assert.deepEqual(parseChannel('debates'), { name: 'debates', kind: 'debates' });
    assert.deepEqual(parseChannel('debate:42'), { name: 'debate:42', kind: 'debate', id: '42' });
    assert.deepEqual(parseChannel('user:a_b-9'), { name: 'user:a_b-9', kind: 'user', id: 'a_b-9' });
    for (const bad of ['', 'Debates', 'debate:', 'debate:0', 'debate:01', 'debate:-1', 'debate:2147483648', 'debate:1 ', 'user:', 'user:a/b', `user:${'x'.repeat(65)}`, 'system:1', 42, null, undefined, { channel: 'debates' }]) {
      assert.equal(parseChannel(bad), undefined, JSON.stringify(bad));
    }
    assert.ok(parseChannel('debate:2147483647'));
  });
});

describe('bus events → messages', () => {
  const debate = (status: string) => ({ id: 7, title: 'Séance', status });

  it('maps debate events to debates and debate:{id}', () => {
    assert.deepEqual(
      publicationsFor('debate.created', { debate: debate('programme') }, 'i').map((p) => [p.type, p.channel]),
      [
        ['debate_created', 'debates'],
        ['debate_created', 'debate:7'],
      ],
    );
    assert.deepEqual(publicationsFor('debate.deleted', { id: 7, debate: debate('termine') }, 'i')[1], { channel: 'debate:7', type: 'debate_deleted', data: { id: '7', title: 'Séance' } }, 'ids are strings on the wire');
  });

  it('adds debate_started and debate_ended on the status transitions, and only on them', () => {
    const types = (status: string, previousStatus?: string) =>
      publicationsFor('debate.updated', { debate: debate(status), ...(previousStatus ? { previousStatus } : {}) }, 'i')
        .filter((p) => p.channel === 'debate:7')
        .map((p) => p.type);
    assert.deepEqual(types('en_cours', 'programme'), ['debate_updated', 'debate_started']);
    assert.deepEqual(types('termine', 'en_cours'), ['debate_updated', 'debate_ended']);
    assert.deepEqual(types('disponible', 'en_cours'), ['debate_updated', 'debate_ended']);
    assert.deepEqual(types('erreur', 'en_cours'), ['debate_updated']);
    assert.deepEqual(types('en_cours', 'en_cours'), ['debate_updated']);
    assert.deepEqual(types('disponible', 'termine'), ['debate_updated']);
    assert.deepEqual(types('en_cours'), ['debate_updated']);
    const started = publicationsFor('debate.updated', { debate: debate('en_cours'), previousStatus: 'programme' }, 'i').find((p) => p.type === 'debate_started')!;
    assert.deepEqual(started.data, { debate_id: '7', status: 'en_cours', previous_status: 'programme', debate: debate('en_cours') });
  });

  it('maps extraction events to extractions and debate:{debate_id}, system status to system, nothing else', () => {
    const job = { extraction_id: 3, debate_id: 9, format: 'mp3', quality: 'high', status: 'failed' as const, error: 'boom' };
    assert.deepEqual(
      publicationsFor('extraction.failed', job, 'i').map((p) => [p.type, p.channel, p.data]),
      [
        ['extraction_failed', 'extractions', { ...job, extraction_id: '3', debate_id: '9' }],
        ['extraction_failed', 'debate:9', { ...job, extraction_id: '3', debate_id: '9' }],
      ],
    );
    assert.deepEqual(publicationsFor('system.status', { status: 'ready' }, 'host-1'), [{ channel: 'system', type: 'system_status', data: { status: 'ready', instance: 'host-1' } }]);
    assert.deepEqual(publicationsFor('plugin.private' as never, { secret: 1 }, 'i'), []);
  });

  it('builds the envelope', () => {
    const m = envelope('pong', {});
    assert.deepEqual(Object.keys(m), ['type', 'data', 'timestamp', 'message_id']);
    assert.notEqual(envelope('x', {}, 'debates').message_id, envelope('x', {}, 'debates').message_id);
  });
});

describe('progress throttle', () => {
  const job = (id: string, progress: number) => ({ extraction_id: id, debate_id: 1, format: 'mp3', quality: 'low', status: 'running' as const, progress });

  it('sends the first at once, coalesces, sends the newest at the end of the interval, per job', async () => {
    const sent: [string | number, number][] = [];
    let coalesced = 0;
    const t = new ProgressThrottle(100, (p) => sent.push([p.extraction_id, p.progress]), () => coalesced++);
    t.progress(job('a', 1));
    t.progress(job('b', 1));
    t.progress(job('a', 2));
    t.progress(job('a', 3));
    assert.deepEqual(sent, [
      ['a', 1],
      ['b', 1],
    ]);
    await sleep(150);
    assert.deepEqual(sent.slice(2), [['a', 3]]);
    assert.equal(coalesced, 1);
    assert.equal(t.coalesced, 1);
    t.close();
  });

  it('flushes a pending progress before the end of the job, and forgets the job', () => {
    const sent: number[] = [];
    const t = new ProgressThrottle(10_000, (p) => sent.push(p.progress));
    t.progress(job('a', 10));
    t.progress(job('a', 20));
    t.progress(job('a', 30));
    assert.deepEqual(sent, [10]);
    t.finish('a');
    assert.deepEqual(sent, [10, 30]);
    assert.equal(t.jobs, 0);
    t.finish('a');
    assert.deepEqual(sent, [10, 30]);
    t.close();
  });

  it('sends everything with interval 0, and nothing after close', () => {
    const sent: number[] = [];
    const t = new ProgressThrottle(0, (p) => sent.push(p.progress));
    for (let i = 0; i < 5; i++) t.progress(job('a', i));
    assert.deepEqual(sent, [0, 1, 2, 3, 4]);
    t.close();
    t.progress(job('a', 9));
    assert.deepEqual(sent, [0, 1, 2, 3, 4]);
  });
});
