import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { DebateSchema, type DebateView, type EntityManager, type ImportCompletedEvent } from '@robian/core';
import { assembleeNationalePlugin, writeRecordFiles, type ImportResult } from '@robian/plugin-assemblee-nationale';
import { STORAGE_MODES, createTestEnvironment, startTestHost, type TestHost } from '@robian/test-support';
import { FIXTURES_JSON, FIXTURES_SKIP, INTERFACE_UID, localBases, localVideoFiles, serve, zipFolder, type TestServer } from './helpers.ts';
import { dataset } from './records.ts';

const SAMPLE_COUNTS = {
  commissions: { created: 13, updated: 0, unchanged: 0, skipped: 0, removed: 0 },
  deputies: { created: 20, updated: 0, unchanged: 0, skipped: 0, removed: 0 },
  debates: { created: 25, updated: 0, unchanged: 0, skipped: 6, removed: 0 },
};
const UNCHANGED = {
  commissions: { created: 0, updated: 0, unchanged: 13, skipped: 0, removed: 0 },
  deputies: { created: 0, updated: 0, unchanged: 20, skipped: 0, removed: 0 },
  debates: { created: 0, updated: 0, unchanged: 25, skipped: 6, removed: 0 },
};

function counts(r: ImportResult) {
  const { commissions, deputies, debates } = r.report;
  return { commissions, deputies, debates };
}

for (const mode of STORAGE_MODES) {
  describe(`import of the AN open data on ${mode.name}`, { skip: FIXTURES_SKIP || mode.skip }, () => {
    let host: TestHost;
    let server: TestServer;
    let zip: Buffer;
    const tmp = mkdtempSync(join(tmpdir(), 'robian-an-import-'));
    const events: ImportCompletedEvent[] = [];
    const run = (input: string) => host.robian.kernel.services.get('assemblee.import')(input);
    const debates = async (): Promise<DebateView[]> => {
      const res = await host.request('/api/debats/?per_page=100');
      assert.equal(res.status, 200);
      return ((await res.json()) as { debates: DebateView[] }).debates;
    };
    const byUid = async (uid: string) => (await debates()).find((d) => d.external_id === uid);

    before(async () => {
      zip = await zipFolder(FIXTURES_JSON);
      server = await serve((req, res, hit) => {
        if (req.url === '/Agenda.json.zip' && hit === 1) {
          res.writeHead(429, { 'retry-after': '1' });
          res.end('slow down');
          return;
        }
        if (req.url === '/Agenda.json.zip') {
          res.writeHead(200, { 'content-type': 'application/zip', 'content-length': zip.length });
          res.end(zip);
          return;
        }
        res.writeHead(404);
        res.end();
      });
      host = await startTestHost({ mode: mode.name, plugins: [assembleeNationalePlugin], env: localBases(server.url) });
      host.robian.kernel.events.on('import.completed', (e) => void events.push(e));
    });
    after(async () => {
      await host?.close();
      await server?.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('imports the samples: counts, and the traps reported with their uid', async () => {
      assert.equal((await debates()).length, 0); // primes the debates cache: the import must invalidate it
      const result = await run(FIXTURES_JSON);
      assert.deepEqual(counts(result), SAMPLE_COUNTS);
      const skipped = Object.fromEntries(result.report.problems.filter((p) => p.severity !== 'warning').map((p) => [p.uid, p.reason]));
      assert.match(skipped.RUSNR5L17S2025IDS29593 ?? '', /Sénat/);
      assert.match(skipped.RUANR5L17S2025IDS29577 ?? '', /deleted/);
      for (const uid of ['RUANR5L17S2025IDC456375', 'RUANR5L17S2025IDC456398', 'RUANR5L17S2025IDC456609', 'RUANR5L17S2025IDC456648']) {
        assert.match(skipped[uid] ?? '', /cancelled/, uid);
      }
      assert.equal(Object.keys(skipped).length, 6);
      // every group and committee the samples reference is in them: nothing imported incompletely
      assert.deepEqual(result.report.problems.filter((p) => p.severity === 'warning'), []);
      const list = await debates();
      assert.equal(list.length, 25, 'the debates cache was invalidated');
      assert.equal(events.length, 1);
      assert.equal(events[0]!.source, 'assemblee-nationale');
      assert.deepEqual([...events[0]!.changedDebateIds].map(String).sort(), list.map((d) => d.id).sort());
    });

    it('a second import updates nothing and never duplicates', async () => {
      const result = await run(FIXTURES_JSON);
      assert.deepEqual(counts(result), UNCHANGED);
      assert.equal((await debates()).length, 25);
      assert.deepEqual(events.at(-1)!.changedDebateIds, []);
    });

    it('links a debate to its committee; commission participants are attendance, not speakers', async () => {
      const finances = await byUid('RUANR5L17S2025IDC456067');
      assert.ok(finances);
      assert.equal(finances.type, 'commission');
      assert.equal(finances.committee?.external_id, 'PO59048');
      assert.equal(finances.committee?.short_name, 'Finances');
      assert.equal(finances.source, 'assemblee-nationale');
      assert.deepEqual(finances.speakers, [], '75 participants listed, none of them a speaker');
      const seance = await byUid('RUANR5L17S2025IDS29505');
      assert.equal(seance?.commission, null, 'a séance belongs to no committee');
      assert.equal(seance?.type, 'seance_publique');
      assert.equal(seance?.start_time, '2025-06-05T19:30:00.000Z');
      const ge = await byUid('RUANR5L17S2025IDFL456633');
      assert.equal(ge?.committee?.kind, 'groupe_etudes');
      assert.equal(ge?.type, 'audition');
      const stats = (await (await host.request('/api/stats')).json()) as { total_commissions: number; total_deputies: number };
      assert.equal(stats.total_commissions, 13);
      assert.equal(stats.total_deputies, 20);
    });

    it('reads a zip of the dataset (json/<kind>/<uid>.json entries, any order)', async () => {
      const path = join(tmp, 'AMO_Agenda.json.zip');
      writeFileSync(path, zip);
      assert.deepEqual(counts(await run(path)), UNCHANGED);
    });

    it('downloads from the open-data host, waiting as Retry-After asks', async () => {
      const result = await run(`${server.url}/Agenda.json.zip`);
      assert.deepEqual(counts(result), UNCHANGED);
      assert.equal(server.hits.get('/Agenda.json.zip'), 2, 'one 429, then the download');
      await assert.rejects(run('http://localhost:9/Agenda.json.zip'), /not one of the plugin's hosts/);
      await assert.rejects(run(`${server.url}/missing.zip`), /HTTP 404/);
    });

    it('skips and names corrupted records, imports the rest (copy in a temp dir)', async () => {
      const dir = join(tmp, 'corrupted');
      cpSync(FIXTURES_JSON, dir, { recursive: true });
      const truncated = join(dir, 'reunion', 'RUANR5L17S2025IDC456220.json');
      writeFileSync(truncated, readFileSync(truncated, 'utf8').slice(0, 300));
      const noStart = join(dir, 'reunion', 'RUANR5L17S2025IDC456232.json');
      const doc = JSON.parse(readFileSync(noStart, 'utf8'));
      delete doc.reunion.timeStampDebut;
      writeFileSync(noStart, JSON.stringify(doc));
      const noName = join(dir, 'acteur', 'PA606507.json');
      const acteur = JSON.parse(readFileSync(noName, 'utf8'));
      delete acteur.acteur.etatCivil.ident.nom;
      writeFileSync(noName, JSON.stringify(acteur));
      writeFileSync(join(dir, 'notes.json'), '{"hello": "world"}');
      const result = await run(dir);
      const problems = Object.fromEntries(result.report.problems.filter((p) => p.severity !== 'warning').map((p) => [p.uid, p]));
      assert.match(problems.RUANR5L17S2025IDC456220?.reason ?? '', /invalid JSON/);
      assert.equal(problems.RUANR5L17S2025IDC456220?.file, 'reunion/RUANR5L17S2025IDC456220.json');
      assert.match(problems.RUANR5L17S2025IDC456232?.reason ?? '', /timeStampDebut/);
      assert.match(problems.PA606507?.reason ?? '', /prenom\/nom/);
      assert.match(problems.notes?.reason ?? '', /not an AN record/);
      assert.deepEqual(result.report.debates, { created: 0, updated: 0, unchanged: 23, skipped: 8, removed: 0 });
      assert.deepEqual(result.report.deputies, { created: 0, updated: 0, unchanged: 19, skipped: 1, removed: 0 });
      assert.ok(await byUid('RUANR5L17S2025IDC456220'), 'a bad copy of a record does not delete the debate');
    });

    it('removes a réunion withdrawn later, keeps one with media, and keeps a media status', async () => {
      const dir = join(tmp, 'withdrawn');
      cpSync(FIXTURES_JSON, dir, { recursive: true });
      const edit = (uid: string, fn: (r: Record<string, any>) => void) => {
        const file = join(dir, 'reunion', `${uid}.json`);
        const doc = JSON.parse(readFileSync(file, 'utf8'));
        fn(doc.reunion);
        writeFileSync(file, JSON.stringify(doc));
      };
      edit('RUANR5L17S2025IDS29503', (r) => (r.cycleDeVie.etat = 'Annulé'));
      edit('RUANR5L17S2025IDS29502', (r) => (r.cycleDeVie.etat = 'Supprimé'));
      edit('RUANR5L17S2025IDS29504', (r) => (r.timeStampFin = '2025-06-05T20:30:00.000+02:00'));
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      await em.nativeUpdate(DebateSchema, { externalId: 'RUANR5L17S2025IDS29502' }, { sourceUrl: 'https://videos.assemblee-nationale.fr/video.1_abcdef.x', hasAudio: true });
      await em.nativeUpdate(DebateSchema, { externalId: 'RUANR5L17S2025IDS29504' }, { status: 'disponible' });
      const removedId = Number((await byUid('RUANR5L17S2025IDS29503'))!.id);
      const result = await run(dir);
      assert.equal(result.report.debates.removed, 1);
      assert.deepEqual(result.removedDebateIds, [removedId]);
      assert.equal(result.report.debates.updated, 1);
      assert.equal(await byUid('RUANR5L17S2025IDS29503'), undefined);
      assert.ok(await byUid('RUANR5L17S2025IDS29502'), 'withdrawn, but it has media: kept');
      assert.ok(result.report.problems.some((p) => p.uid === 'RUANR5L17S2025IDS29502' && p.severity === 'warning' && /has media/.test(p.reason)));
      const updated = await byUid('RUANR5L17S2025IDS29504');
      assert.equal(updated?.status, 'disponible', 'the audio pipeline’s status is not overwritten');
      assert.equal(updated?.duration_minutes, 330);
      assert.deepEqual(events.at(-1)!.removedDebateIds, [removedId]);
    });

    it('refuses an unreadable input', async () => {
      await assert.rejects(run(join(tmp, 'nothing-here')), /no such file or folder/);
      const notData = join(tmp, 'plain.txt');
      writeFileSync(notData, 'hello');
      await assert.rejects(run(notData), /neither a zip nor a JSON file/);
      const brokenZip = join(tmp, 'broken.zip');
      writeFileSync(brokenZip, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100)]));
      await assert.rejects(run(brokenZip), /cannot read the zip/);
    });
  });
}

describe('robian import assemblee (CLI)', { skip: FIXTURES_SKIP }, () => {
  const cli = fileURLToPath(new URL('../../host/src/cli.ts', import.meta.url));
  const exec = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['--conditions=robian-source', cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 120_000 });
  /** Like exec, without blocking this process (which serves the pages the command fetches). */
  const execAsync = (args: string[], env: Record<string, string>) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--conditions=robian-source', cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (status) => resolve({ status, stdout, stderr }));
    });

  it('prints the report, plain log lines off a terminal, exit 0; exit 1 when the input is unreadable', async () => {
    const environment = await createTestEnvironment('sqlite');
    try {
      const ok = exec(['import', 'assemblee', FIXTURES_JSON], environment.env);
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /debates\s+25 created, 0 updated, 0 unchanged, 6 skipped/);
      assert.match(ok.stdout, /skipped reunion RUSNR5L17S2025IDS29593: Sénat/);
      assert.match(ok.stderr, /import: 78\/78 files \(100%\)/);
      assert.doesNotMatch(ok.stderr, /\r/, 'no progress bar when stderr is not a terminal');
      const again = exec(['import', 'assemblee', FIXTURES_JSON, '--json'], environment.env);
      assert.equal(again.status, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout).debates.unchanged, 25);
      const bad = exec(['import', 'assemblee', join(environment.dataDir, 'missing')], environment.env);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /import failed: cannot read .*missing: no such file or folder/);
    } finally {
      await environment.cleanup();
    }
  });

  it('robian import assemblee-video links a video page to its réunion', async () => {
    const server = await serve((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const files = localVideoFiles(server.url, 'RUANR5L17S2025IDS29504');
      if (path.startsWith(`/video.${INTERFACE_UID}`)) res.end(files.page);
      else if (path === `/Datas/an/${INTERFACE_UID}/content/data.nvs`) res.end(files.nvs);
      else {
        res.writeHead(404);
        res.end();
      }
    });
    const environment = await createTestEnvironment('sqlite', localBases(server.url));
    try {
      assert.equal(exec(['import', 'assemblee', FIXTURES_JSON], environment.env).status, 0);
      const linked = await execAsync(['import', 'assemblee-video', `${server.url}/video.${INTERFACE_UID}.2eme-seance`], environment.env);
      assert.equal(linked.status, 0, linked.stderr);
      assert.match(linked.stdout, /^updated debate \d+ \(réunion RUANR5L17S2025IDS29504\)/m);
      assert.match(linked.stdout, /chapters: 26, speakers: 43 \(37 new\)/);
      assert.match(linked.stdout, /mp3 +http:\/\/127\.0\.0\.1:\d+\/vod\/.*\.mp3/);
      const refused = exec(['import', 'assemblee-video', 'https://example.org/video.1_ab'], environment.env);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /import failed: .*video page of the Assemblée nationale/);
    } finally {
      await environment.cleanup();
      await server.close();
    }
  });

  it('stops after the current batch on Ctrl-C, prints what was committed, exit 130', async () => {
    const environment = await createTestEnvironment('sqlite', { AN_IMPORT_BATCH_SIZE: '25' });
    try {
      const dir = join(environment.dataDir, 'generated');
      await writeRecordFiles(dir, dataset(4000));
      const child = spawn(process.execPath, ['--conditions=robian-source', cli, 'import', 'assemblee', dir], { env: { PATH: process.env.PATH ?? '', ...environment.env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (/import: \d+\/\d+ files \(10%\)/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      assert.equal(code, 130, `${stdout}\n${stderr}`);
      assert.match(stderr, /stopping after the current batch/);
      assert.match(stdout, /import stopped: interrupted; committed before it:/);
      const created = Number(/debates\s+(\d+) created/.exec(stdout)?.[1]);
      assert.ok(created > 0 && created < 4000, `some batches committed (${created})`);
      assert.equal(created % 25, 0, 'whole batches only');
    } finally {
      await environment.cleanup();
    }
  });
});

describe('an import that stops half-way', { skip: FIXTURES_SKIP }, () => {
  it('keeps the batches committed, reports them in import.completed with the failure, and rethrows', async () => {
    const host = await startTestHost({ plugins: [assembleeNationalePlugin], env: { AN_IMPORT_BATCH_SIZE: '5' } });
    try {
      const events: ImportCompletedEvent[] = [];
      host.robian.kernel.events.on('import.completed', (e) => void events.push(e));
      const controller = new AbortController();
      const run = host.robian.kernel.services.get('assemblee.import');
      // organes are files 1–27, acteurs 28–47: stop among the acteurs
      await assert.rejects(
        run(FIXTURES_JSON, { signal: controller.signal, progress: (e) => e.done >= 40 && controller.abort(new Error('stopped by the test')) }),
        /stopped by the test/,
      );
      assert.equal(events.length, 1);
      assert.equal(events[0]!.failed, 'stopped by the test');
      assert.equal(events[0]!.report.commissions.created, 13);
      assert.ok(events[0]!.report.deputies.created > 0 && events[0]!.report.deputies.created < 20, 'some acteur batches were committed');
      const stats = (await (await host.request('/api/stats')).json()) as { total_commissions: number; total_deputies: number; total_debates: number };
      assert.equal(stats.total_commissions, 13);
      assert.equal(stats.total_deputies, events[0]!.report.deputies.created);
      assert.equal(stats.total_debates, 0);
      // the next import completes the work
      const again = await run(FIXTURES_JSON);
      assert.equal(again.report.deputies.created + again.report.deputies.unchanged, 20);
      assert.equal(again.report.debates.created, 25);
    } finally {
      await host.close();
    }
  });
});

describe('two instances importing the same data at once (PostgreSQL)', { skip: FIXTURES_SKIP || STORAGE_MODES[1]!.skip }, () => {
  it('never duplicates: a batch that meets rows written meanwhile runs again', async () => {
    const environment = await createTestEnvironment('postgresql+redis');
    const hostA = await startTestHost({ environment, plugins: [assembleeNationalePlugin] });
    const hostB = await startTestHost({ environment, plugins: [assembleeNationalePlugin] });
    const a = hostA.robian;
    const b = hostB.robian;
    try {
      const [ra, rb] = await Promise.all([
        a.kernel.services.get('assemblee.import')(FIXTURES_JSON),
        b.kernel.services.get('assemblee.import')(FIXTURES_JSON),
      ]);
      for (const key of ['commissions', 'deputies', 'debates'] as const) {
        const created = ra.report[key].created + rb.report[key].created;
        const seen = created + ra.report[key].unchanged + rb.report[key].unchanged + ra.report[key].updated + rb.report[key].updated;
        assert.equal(created, SAMPLE_COUNTS[key].created, `${key}: created once in all`);
        assert.equal(seen, 2 * SAMPLE_COUNTS[key].created, `${key}: every record counted by both imports`);
      }
      const em = a.kernel.orm.em.fork() as unknown as EntityManager;
      assert.equal(await em.count(DebateSchema, {}), 25);
    } finally {
      await hostA.close();
      await hostB.close();
      await environment.cleanup();
    }
  });
});

describe('the AMO and the Agenda imported separately, as the AN publishes them', { skip: FIXTURES_SKIP }, () => {
  it('links the réunions of a later agenda import to the committees of an earlier AMO import', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'robian-an-split-'));
    const host = await startTestHost({ plugins: [assembleeNationalePlugin] });
    try {
      const amo = join(tmp, 'amo');
      const agenda = join(tmp, 'agenda');
      cpSync(join(FIXTURES_JSON, 'organe'), join(amo, 'organe'), { recursive: true });
      cpSync(join(FIXTURES_JSON, 'acteur'), join(amo, 'acteur'), { recursive: true });
      cpSync(join(FIXTURES_JSON, 'reunion'), join(agenda, 'reunion'), { recursive: true });
      const run = host.robian.kernel.services.get('assemblee.import');
      const first = await run(amo);
      assert.equal(first.report.commissions.created, 13);
      assert.equal(first.report.debates.created, 0);
      const second = await run(agenda);
      assert.deepEqual(second.report.debates, SAMPLE_COUNTS.debates);
      assert.deepEqual(second.report.problems.filter((p) => p.severity === 'warning'), [], 'the committees are known from the first import');
      assert.ok(second.report.problems.some((p) => p.uid === 'RUSNR5L17S2025IDS29593' && /Sénat/.test(p.reason)), 'the Sénat sitting is found without its organe');
      const list = ((await (await host.request('/api/debats/?per_page=100')).json()) as { debates: DebateView[] }).debates;
      assert.equal(list.find((d) => d.external_id === 'RUANR5L17S2025IDC456067')?.committee?.short_name, 'Finances');
      assert.equal(list.filter((d) => d.commission).length, 19, '18 committee réunions and the groupe d’études');
    } finally {
      await host.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
