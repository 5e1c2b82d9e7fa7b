import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import yazl from 'yazl';
import type { DebateView } from '@robian/core';
import { assembleeNationalePlugin, jsonElements, type StreamedElement } from '@robian/plugin-assemblee-nationale';
import { startTestHost } from '@robian/test-support';
import { dataset } from './records.ts';

async function collect(text: string, key: string, chunkSize: number, max = 1_000_000): Promise<StreamedElement[]> {
  async function* chunks() {
    const buf = Buffer.from(text, 'utf8');
    for (let i = 0; i < buf.length; i += chunkSize) yield buf.subarray(i, i + chunkSize);
  }
  const out: StreamedElement[] = [];
  for await (const el of jsonElements(chunks(), key, max)) out.push(el);
  return out;
}

describe('reading a large JSON document as a stream', () => {
  const doc = JSON.stringify({
    export: {
      reunions: { reunion: [{ uid: 'R1', t: 'a } ] { [ "q" \\ é' }, { uid: 'R2', nested: { reunion: { uid: 'inner' } }, list: [[1], { x: '}' }] }] },
      organes: { organe: { uid: 'P1' } },
      acteurs: { acteur: [] },
    },
  });

  for (const size of [1, 3, 7, 4096]) {
    it(`finds each record whole, whatever the chunk boundaries (chunks of ${size} bytes)`, async () => {
      const reunions = await collect(doc, 'reunion', size);
      assert.deepEqual(
        reunions.map((e) => (e.type === 'element' ? JSON.parse(e.text).uid : e.reason)),
        ['R1', 'R2'],
        'strings with braces, escapes, multi-byte characters and nested keys of the same name do not confuse it',
      );
      assert.equal(JSON.parse((reunions[0] as { text: string }).text).t, 'a } ] { [ "q" \\ é');
      assert.deepEqual((await collect(doc, 'organe', size)).map((e) => e.type === 'element' && JSON.parse(e.text).uid), ['P1']);
      assert.deepEqual(await collect(doc, 'acteur', size), []);
    });
  }

  it('reports a truncated document and a record over the size cap', async () => {
    const cut = await collect(doc.slice(0, 60), 'reunion', 16);
    assert.equal(cut.at(-1)?.type, 'error');
    assert.match((cut.at(-1) as { reason: string }).reason, /truncated/);
    const big = await collect(doc, 'reunion', 5, 20);
    assert.ok(big.every((e) => e.type === 'error' && /larger than the 20 bytes/.test(e.reason)));
    assert.equal(big.length, 2);
  });
});

describe('an aggregated export imported as a stream (records written by the project)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'robian-an-stream-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const COUNT = 1500;

  function exportText(): string {
    const { organes, acteurs, reunions } = dataset(COUNT);
    // réunions first in the file: the importer must still read organes and acteurs before them
    const text = JSON.stringify({ export: { reunions: { reunion: reunions }, acteurs: { acteur: acteurs }, organes: { organe: organes } } });
    // one record broken in the middle of the file: reported with its uid, the others imported
    return text.replace('"timeStampDebut":"2025-06-12T09:30:00.000+02:00"', '"timeStampDebut":2025-06-12T09');
  }

  it('imports one big file and one big zip entry record by record, idempotently', async () => {
    const file = join(tmp, 'export.json');
    writeFileSync(file, exportText());
    assert.ok(statSync(file).size > 1024 * 1024, 'bigger than the stream threshold set below');
    const host = await startTestHost({ plugins: [assembleeNationalePlugin], env: { AN_STREAM_THRESHOLD_BYTES: '65536', AN_IMPORT_BATCH_SIZE: '250' } });
    try {
      const run = host.robian.kernel.services.get('assemblee.import');
      const first = await run(file);
      assert.deepEqual(first.report.commissions, { created: 1, updated: 0, unchanged: 0, skipped: 0, removed: 0 });
      assert.deepEqual(first.report.deputies, { created: 2, updated: 0, unchanged: 0, skipped: 0, removed: 0 });
      assert.deepEqual(first.report.debates, { created: COUNT - 1, updated: 0, unchanged: 0, skipped: 1, removed: 0 });
      assert.deepEqual(
        first.report.problems.map((p) => [p.uid, p.reason.slice(0, 12)]),
        [['RUANR5L17S2025IDC900010', 'invalid JSON']],
      );
      const zip = new yazl.ZipFile();
      zip.addBuffer(Buffer.from(exportText()), 'AMO_Agenda_export.json');
      zip.end();
      const zipPath = join(tmp, 'export.zip');
      await new Promise<void>((resolve, reject) => {
        const chunks: Buffer[] = [];
        zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
        zip.outputStream.on('end', () => {
          writeFileSync(zipPath, Buffer.concat(chunks));
          resolve();
        });
        zip.outputStream.on('error', reject);
      });
      const second = await run(zipPath);
      assert.deepEqual(second.report.debates, { created: 0, updated: 0, unchanged: COUNT - 1, skipped: 1, removed: 0 });
      assert.equal(second.report.deputies.unchanged, 2);
      const list = (await (await host.request('/api/debats/?per_page=2&sort_by=date&sort_order=asc')).json()) as { total: number; debates: DebateView[] };
      assert.equal(list.total, COUNT - 1);
      assert.equal(list.debates[0]!.committee?.short_name, 'Essais');
      assert.equal(list.debates[0]!.type, 'commission');
      assert.equal(list.debates[1]!.type, 'audition');
      assert.deepEqual(list.debates[1]!.speakers, [], 'participants are attendance');
      assert.match(list.debates[1]!.title, /^Audition de M\. Témoin 1 sur les “mesures” \{test\} \\ "quotes"$/);
      const deputies = (await (await host.request('/api/stats')).json()) as { total_deputies: number };
      assert.equal(deputies.total_deputies, 2);
    } finally {
      await host.close();
    }
  });
});
