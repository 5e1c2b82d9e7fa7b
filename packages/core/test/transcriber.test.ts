import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DebateSchema,
  TranscriberError,
  ValidationError,
  createKernel,
  createLogger,
  loadTranscript,
  replaceTranscript,
  transcribeDebate,
  type EntityManager,
  type RobianKernel,
  type Transcriber,
  type TranscriptionInput,
} from '@robian/core';
import { STORAGE_MODES, createTestEnvironment, type TestEnvironment } from '@robian/test-support';

/**
 * A test engine (no speech model here): it reads the rendition's bytes as a WAV file and says
 * "seconde N" for each second of audio it holds, so what it stores depends on the audio it was given.
 */
const secondsEngine: Transcriber = {
  name: 'test-seconds',
  languages: ['fr'],
  async transcribe(input: TranscriptionInput) {
    const chunks: Buffer[] = [];
    for await (const chunk of await input.rendition.open()) {
      input.signal.throwIfAborted();
      chunks.push(chunk as Buffer);
    }
    const wav = Buffer.concat(chunks);
    assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
    const byteRate = wav.readUInt32LE(28);
    let at = 12;
    while (at < wav.length && wav.toString('ascii', at, at + 4) !== 'data') at += 8 + wav.readUInt32LE(at + 4);
    const seconds = Math.floor((wav.length - at - 8) / byteRate);
    input.progress?.(0.5);
    return Array.from({ length: seconds }, (_, i) => ({ start_seconds: i, end_seconds: i + 1, text: `seconde ${i + 1}` }));
  },
};

for (const mode of STORAGE_MODES) {
  describe(`transcriber contract on ${mode.name}`, { skip: mode.skip }, () => {
    let env: TestEnvironment;
    let kernel: RobianKernel;
    let debateId: number;
    let dir: string;
    let wav: string;
    const em = () => kernel.orm.em.fork() as unknown as EntityManager;
    const input = (signal: AbortSignal, extra: Partial<TranscriptionInput> = {}): TranscriptionInput => ({
      debate_id: debateId,
      language: 'fr-FR',
      rendition: { format: 'wav', quality: '16k', mime_type: 'audio/wav', duration_seconds: 3, open: async () => createReadStream(wav), path: wav },
      signal,
      ...extra,
    });

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'robian-asr-'));
      wav = join(dir, 'seance.wav');
      execFileSync(process.env.FFMPEG_BIN ?? 'ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', '-ac', '1', '-ar', '16000', wav]);
      assert.ok(statSync(wav).size > 90_000);
      env = await createTestEnvironment(mode.name);
      kernel = createKernel({ config: env.config, logger: createLogger({ level: 'silent' }), defaultMetrics: false });
      await kernel.start();
      const e = em();
      const debate = e.create(DebateSchema, { title: 'Séance sans sous-titres', date: new Date('2026-10-06T15:00:00Z') } as never);
      await e.flush();
      debateId = (debate as { id: number }).id;
    });
    after(async () => {
      await kernel.stop();
      await env.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it("stores an engine's segments as the debate's asr transcript, beside its other sources", async () => {
      await replaceTranscript(em(), debateId, 'compte_rendu', [{ start_seconds: 0, end_seconds: 3, text: 'Compte rendu' }]);
      const progress: number[] = [];
      const events: unknown[] = [];
      const summary = await transcribeDebate(em(), secondsEngine, input(new AbortController().signal, { progress: (p) => progress.push(p) }), {
        events: { emit: async (_n, payload) => void events.push(payload) },
      });
      assert.deepEqual([summary.source, summary.segments], ['asr', 3]);
      assert.deepEqual(progress, [0.5, 1]);
      assert.deepEqual(events, [{ debate_id: debateId, source: 'asr', segments: 3 }]);
      assert.deepEqual((await loadTranscript(em(), debateId, 'asr'))?.segments.map((s) => [s.start_seconds, s.text]), [[0, 'seconde 1'], [1, 'seconde 2'], [2, 'seconde 3']]);
      assert.equal((await loadTranscript(em(), debateId, 'compte_rendu'))?.segments.length, 1);
    });

    it('writes nothing when the engine fails, is aborted, cannot handle the language or returns bad segments', async () => {
      const before = (await loadTranscript(em(), debateId, 'asr'))?.segments.map((s) => s.text);
      const failing: Transcriber = { name: 'broken', transcribe: async () => { throw new Error('model file missing'); } };
      await assert.rejects(transcribeDebate(em(), failing, input(new AbortController().signal)), (err: unknown) => err instanceof TranscriberError && /broken: model file missing/.test(err.message));
      const controller = new AbortController();
      const slow: Transcriber = {
        name: 'slow',
        transcribe: (i) => new Promise((_, reject) => i.signal.addEventListener('abort', () => reject(new Error('killed')))),
      };
      const running = transcribeDebate(em(), slow, input(controller.signal));
      controller.abort(new Error('cancelled by the operator'));
      await assert.rejects(running, /cancelled by the operator/);
      await assert.rejects(transcribeDebate(em(), secondsEngine, input(new AbortController().signal, { language: 'de' })), /does not handle language de/);
      const liar: Transcriber = { name: 'liar', transcribe: async () => [{ start_seconds: 2, end_seconds: 1, text: 'x' }] };
      await assert.rejects(transcribeDebate(em(), liar, input(new AbortController().signal)), (err: unknown) => err instanceof ValidationError && err.errors[0]?.field === 'segments.0.end_seconds');
      const long: Transcriber = { name: 'long', transcribe: async () => [{ start_seconds: 0, end_seconds: 60, text: 'x' }] };
      await assert.rejects(transcribeDebate(em(), long, input(new AbortController().signal)), /after the rendition/);
      assert.deepEqual((await loadTranscript(em(), debateId, 'asr'))?.segments.map((s) => s.text), before);
    });
  });
}
