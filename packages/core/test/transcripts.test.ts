import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DebateSchema,
  DeputySchema,
  NotFoundError,
  ValidationError,
  createKernel,
  createLogger,
  deleteTranscript,
  listTranscripts,
  loadTranscript,
  replaceTranscript,
  type EntityManager,
  type RobianEvents,
  type RobianKernel,
} from '@robian/core';
import { STORAGE_MODES, createTestEnvironment, type TestEnvironment } from '@robian/test-support';

for (const mode of STORAGE_MODES) {
  describe(`transcripts on ${mode.name}`, { skip: mode.skip }, () => {
    let env: TestEnvironment;
    let kernel: RobianKernel;
    let debateId: number;
    let deputyId: number;
    const em = () => kernel.orm.em.fork() as unknown as EntityManager;

    before(async () => {
      env = await createTestEnvironment(mode.name);
      kernel = createKernel({ config: env.config, logger: createLogger({ level: 'silent' }), defaultMetrics: false });
      await kernel.start();
      const e = em();
      const debate = e.create(DebateSchema, { title: 'Séance publique', date: new Date('2026-10-06T15:00:00Z'), type: 'seance_publique' } as never);
      const deputy = e.create(DeputySchema, { source: 'an', externalId: 'PA1008', firstName: 'Marie', lastName: 'Curie', fullName: 'Marie Curie', slug: 'marie-curie' } as never);
      await e.flush();
      debateId = (debate as { id: number }).id;
      deputyId = (deputy as { id: number }).id;
    });
    after(async () => {
      await kernel.stop();
      await env.cleanup();
    });

    it('stores a transcript in order, resolves parliament ids, reads it back and says it changed', async () => {
      const seen: RobianEvents['transcript.updated'][] = [];
      const events = { emit: async (_name: 'transcript.updated', payload: RobianEvents['transcript.updated']) => void seen.push(payload) };
      const summary = await replaceTranscript(
        em(),
        debateId,
        'captions',
        [
          { start_seconds: 0, end_seconds: 4.5, text: ' La séance est ouverte. ', speaker_name: 'Mme la présidente' },
          { start_seconds: 4.5, end_seconds: 9, text: 'La réforme des retraites', deputy_external_id: 'PA1008', speaker_name: 'Marie Curie' },
          { start_seconds: 9, end_seconds: 12.25, text: 'est à l’ordre du jour.', deputy_id: deputyId, speaker_name: 'Marie Curie' },
          { start_seconds: 12.25, end_seconds: 13, text: 'Applaudissements', deputy_external_id: 'PA-unknown' },
        ],
        { events },
      );
      assert.equal(summary.segments, 4);
      assert.deepEqual(seen, [{ debate_id: debateId, source: 'captions', segments: 4 }]);
      const t = await loadTranscript(em(), debateId);
      assert.ok(t);
      assert.equal(t.source, 'captions');
      assert.deepEqual(
        t.segments.map((s) => [s.position, s.start_seconds, s.end_seconds, s.speaker_name, s.deputy_id, s.text]),
        [
          [0, 0, 4.5, 'Mme la présidente', null, 'La séance est ouverte.'],
          [1, 4.5, 9, 'Marie Curie', deputyId, 'La réforme des retraites'],
          [2, 9, 12.25, 'Marie Curie', deputyId, 'est à l’ordre du jour.'],
          [3, 12.25, 13, null, null, 'Applaudissements'],
        ],
      );
      assert.ok(t.updated_at instanceof Date && !Number.isNaN(t.updated_at.getTime()));
    });

    it('keeps one transcript per source and reads the preferred one unless a source is named', async () => {
      await replaceTranscript(em(), debateId, 'asr', [{ start_seconds: 1, end_seconds: 2, text: 'la séance est ouverte' }]);
      await replaceTranscript(em(), debateId, 'compte_rendu', [{ start_seconds: 0, end_seconds: 60, text: 'La séance est ouverte à quinze heures.' }]);
      assert.deepEqual((await listTranscripts(em(), debateId)).map((s) => [s.source, s.segments]), [['captions', 4], ['compte_rendu', 1], ['asr', 1]]);
      assert.equal((await loadTranscript(em(), debateId))?.source, 'captions');
      assert.equal((await loadTranscript(em(), debateId, 'asr'))?.segments[0]?.text, 'la séance est ouverte');
      assert.equal(await loadTranscript(em(), debateId, 'nothing'), null);
    });

    it('replaces a source whole, and a refused write leaves the previous transcript as it was', async () => {
      await replaceTranscript(em(), debateId, 'asr', [
        { start_seconds: 0, end_seconds: 1, text: 'un' },
        { start_seconds: 1, end_seconds: 2, text: 'deux' },
      ]);
      assert.deepEqual((await loadTranscript(em(), debateId, 'asr'))?.segments.map((s) => s.text), ['un', 'deux']);
      await assert.rejects(
        replaceTranscript(em(), debateId, 'asr', [
          { start_seconds: 0, end_seconds: 1, text: 'trois' },
          { start_seconds: 1, end_seconds: 2, text: 'quatre', deputy_id: 999_999 },
        ]),
        (err: unknown) => err instanceof ValidationError && err.errors[0]?.field === 'segments.1.deputy_id',
      );
      assert.deepEqual((await loadTranscript(em(), debateId, 'asr'))?.segments.map((s) => s.text), ['un', 'deux']);
    });

    it('refuses bad segments naming the field, an unknown debate, a bad source name', async () => {
      const fields = async (segments: unknown[]) => {
        try {
          await replaceTranscript(em(), debateId, 'asr', segments as never);
        } catch (err) {
          assert.ok(err instanceof ValidationError);
          return err.errors.map((e) => e.field);
        }
        assert.fail('accepted');
      };
      assert.deepEqual(await fields([{ start_seconds: -1, end_seconds: 2, text: 'x' }]), ['segments.0.start_seconds']);
      assert.deepEqual(await fields([{ start_seconds: 3, end_seconds: 2, text: 'x' }]), ['segments.0.end_seconds']);
      assert.deepEqual(await fields([{ start_seconds: 3, end_seconds: 4, text: 'x' }, { start_seconds: 1, end_seconds: 4, text: 'y' }]), ['segments.1.start_seconds']);
      assert.deepEqual(await fields([{ start_seconds: 0, end_seconds: Number.NaN, text: '  ' }]), ['segments.0.end_seconds', 'segments.0.text']);
      assert.deepEqual(await fields([{ start_seconds: 0, end_seconds: 1, text: 'a\u0000b' }]), ['segments.0.text']);
      await assert.rejects(replaceTranscript(em(), 987_654, 'asr', []), NotFoundError);
      await assert.rejects(replaceTranscript(em(), debateId, 'Bad Source', []), ValidationError);
      await assert.rejects(loadTranscript(em(), debateId, '../x'), ValidationError);
    });

    it('removes transcripts, and they go with their debate', async () => {
      assert.equal(await deleteTranscript(em(), debateId, 'asr'), 2);
      assert.equal(await loadTranscript(em(), debateId, 'asr'), null);
      const e = em();
      const other = e.create(DebateSchema, { title: 'Commission', date: new Date('2026-10-07T09:00:00Z') } as never);
      await e.flush();
      const otherId = (other as { id: number }).id;
      await replaceTranscript(em(), otherId, 'captions', [{ start_seconds: 0, end_seconds: 1, text: 'Bonjour' }]);
      await em().nativeDelete(DebateSchema, { id: otherId } as never);
      assert.deepEqual(await listTranscripts(em(), otherId), []);
      // an empty list removes the source's transcript
      await replaceTranscript(em(), debateId, 'compte_rendu', []);
      assert.deepEqual((await listTranscripts(em(), debateId)).map((s) => s.source), ['captions']);
    });
  });
}
