import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError, TaskScheduler, createKernel, createLogger, type RobianKernel, type TaskDefinition } from '@robian/core';
import { STORAGE_MODES, createTestEnvironment, type TestEnvironment } from '@robian/test-support';

const logger = createLogger({ level: 'silent' });

async function kernelOn(env: TestEnvironment): Promise<RobianKernel> {
  const kernel = createKernel({ config: env.config, logger, defaultMetrics: false });
  await kernel.start();
  return kernel;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

for (const mode of STORAGE_MODES) {
  describe(`scheduled tasks on ${mode.name}`, { skip: mode.skip }, () => {
    it('run when due, record outcome, duration, summary and state, and the next run one interval later', async () => {
      const env = await createTestEnvironment(mode.name);
      const kernel = await kernelOn(env);
      try {
        const seen: Record<string, unknown>[] = [];
        const tasks: TaskDefinition[] = [
          { name: 'test.ok', intervalMs: 3_600_000, run: async ({ state }) => (seen.push(state), { summary: { n: 1 }, state: { cursor: Number(state.cursor ?? 0) + 1 } }) },
          { name: 'test.fail', intervalMs: 3_600_000, run: async () => Promise.reject(new Error('upstream down')) },
        ];
        const s = new TaskScheduler({ orm: () => kernel.orm, logger, tasks, leaseMs: 5000, tickMs: 50 });
        s.start();
        await until('both runs', async () => (await s.status()).every((t) => t.runs === 1));
        await s.stop();
        const [ok, fail] = await s.status();
        assert.equal(ok!.last_outcome, 'ok');
        assert.deepEqual(ok!.last_summary, { n: 1 });
        assert.equal(ok!.running, false);
        assert.ok(ok!.last_duration_ms! >= 0);
        assert.ok(Date.parse(ok!.next_run_at!) - Date.parse(ok!.last_started_at!) >= 3_600_000 - 5, 'next run one interval after the start');
        assert.equal(fail!.last_outcome, 'failed');
        assert.equal(fail!.last_error, 'upstream down');
        assert.equal(fail!.failures, 1);
        // not due: a new scheduler does not run it again; runNow does, with the saved state
        const again = new TaskScheduler({ orm: () => kernel.orm, logger, tasks, leaseMs: 5000, tickMs: 50 });
        await again.tick();
        await sleep(100);
        assert.equal(seen.length, 1);
        const manual = await again.runNow('test.ok');
        assert.equal(manual.runs, 2);
        assert.deepEqual(seen[1], { cursor: 1 });
        await assert.rejects(again.runNow('test.nope'), /No scheduled task "test.nope"/);
        await again.stop();
      } finally {
        await kernel.stop();
        await env.cleanup();
      }
    });

    it('two instances on one database: each task runs once per interval, whoever runs it', async () => {
      const env = await createTestEnvironment(mode.name);
      const a = await kernelOn(env);
      const b = await kernelOn(env);
      try {
        const runs: { by: string; at: number }[] = [];
        const task = (by: string): TaskDefinition => ({ name: 'test.tick', intervalMs: 400, run: async ({ startedAt }) => void runs.push({ by, at: startedAt.getTime() }) });
        const sa = new TaskScheduler({ orm: () => a.orm, logger, tasks: [task('a')], leaseMs: 2000, tickMs: 20 });
        const sb = new TaskScheduler({ orm: () => b.orm, logger, tasks: [task('b')], leaseMs: 2000, tickMs: 20 });
        sa.start();
        sb.start();
        await sleep(2200);
        await Promise.all([sa.stop(), sb.stop()]);
        assert.ok(runs.length >= 4 && runs.length <= 6, `runs: ${runs.length}`);
        for (let i = 1; i < runs.length; i++) assert.ok(runs[i]!.at - runs[i - 1]!.at >= 400, `runs ${i - 1} and ${i} are ${runs[i]!.at - runs[i - 1]!.at} ms apart`);
        assert.equal((await sa.status())[0]!.runs, runs.length, 'the row counts every run of both instances');
      } finally {
        await a.stop();
        await b.stop();
        await env.cleanup();
      }
    });

    // several processes on one database is the server mode's (PostgreSQL); SQLite serves one process
    if (mode.name !== 'sqlite') it('the lease holder is killed mid-run: the other instance takes the task over once its lease expires', async () => {
      const env = await createTestEnvironment(mode.name);
      const b = await kernelOn(env);
      const child = spawn(
        process.execPath,
        [
          '--conditions=robian-source',
          '--input-type=module',
          '-e',
          `import { TaskScheduler, createKernel, createLogger, loadConfig } from '@robian/core';
           const logger = createLogger({ level: 'silent' });
           const kernel = createKernel({ config: loadConfig(process.env), logger, defaultMetrics: false });
           await kernel.start();
           const s = new TaskScheduler({ orm: () => kernel.orm, logger, leaseMs: 3000, tickMs: 20,
             tasks: [{ name: 'test.held', intervalMs: 60000, run: () => { console.log('running'); return new Promise(() => {}); } }] });
           s.start();`,
        ],
        { cwd: new URL('..', import.meta.url).pathname, env: { ...process.env, ...env.env }, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (c: Buffer) => c.toString().includes('running') && resolve());
          child.once('exit', (code) => reject(new Error(`the holder exited early (${code})`)));
        });
        let ranHere = 0;
        const sb = new TaskScheduler({ orm: () => b.orm, logger, leaseMs: 3000, tickMs: 20, tasks: [{ name: 'test.held', intervalMs: 60_000, run: async () => void ranHere++ }] });
        const held = (await sb.status())[0]!;
        assert.equal(held.running, true, `held by the child: ${JSON.stringify(held)}`);
        assert.notEqual(held.owner, sb.owner);
        await assert.rejects(sb.runNow('test.held'), (err: unknown) => err instanceof ConflictError);
        child.kill('SIGKILL');
        const killedAt = Date.now();
        sb.start();
        await until('the take-over', () => ranHere === 1);
        const took = Date.now() - killedAt;
        assert.ok(took < 10_000, `took over after ${took} ms`);
        const after = (await sb.status())[0]!;
        assert.equal(after.last_outcome, 'ok');
        assert.equal(after.running, false);
        await sb.stop();
      } finally {
        child.kill('SIGKILL');
        await b.stop();
        await env.cleanup();
      }
    });
  });
}

