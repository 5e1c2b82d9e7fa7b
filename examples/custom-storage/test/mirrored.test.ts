import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { officialPlugins } from '@robian/host';
import { startTestHost, type TestHost, serveTestMp3, type TestMp3Server } from '@robian/test-support';
import { mirroredStoragePlugin } from '../plugin.ts';

describe('custom AudioStorage example: renditions on two disks', () => {
  let media: TestMp3Server;
  let host: TestHost;
  let replica: string;
  before(async () => {
    media = await serveTestMp3({ seconds: 12, frequency: 220 });
    replica = mkdtempSync(join(tmpdir(), 'robian-mirror-replica-'));
    host = await startTestHost({ plugins: [...officialPlugins(), mirroredStoragePlugin], env: { MEDIA_ALLOWED_HOSTS: new URL(media.url).host, MIRROR_REPLICA_DIR: replica } });
  });
  after(async () => {
    await host.close();
    await media.close();
    rmSync(replica, { recursive: true, force: true });
  });

  it('extracts into both disks, serves ranges from the replica when the primary lost the file, repairs it', async () => {
    const created = await host.request('/api/debats/', { method: 'POST', admin: true, json: { title: 'Séance publique', type: 'seance_publique', date: '2026-12-01', video_url: `${media.url}/seance.mp3` } });
    assert.ok(created.ok, await created.clone().text());
    const id = String(((await created.json()) as { id: string | number }).id);
    const queued = await host.request(`/api/debats/${id}/extract`, { method: 'POST', admin: true, json: { format: 'mp3', quality: '64k' } });
    assert.ok(queued.status === 202 || queued.status === 200, String(queued.status));
    let ready = false;
    for (let i = 0; i < 600 && !ready; i++) {
      const info = (await (await host.request(`/api/debats/${id}/streaming`)).json()) as { renditions: { format: string; quality: string; status: string }[] };
      ready = info.renditions.some((r) => r.format === 'mp3' && r.quality === '64k' && r.status === 'ready');
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ready, 'the rendition became ready');

    const key = join(id, 'mp3-64k.mp3');
    const primaryFile = join(host.env.dataDir, 'audio', key);
    const replicaFile = join(replica, key);
    assert.ok(existsSync(primaryFile) && existsSync(replicaFile), 'both disks have the rendition');
    const bytes = readFileSync(primaryFile);
    assert.deepEqual(readFileSync(replicaFile), bytes);

    rmSync(primaryFile); // the primary disk loses it
    const res = await host.request(`/api/debats/${id}/audio?format=mp3&quality=64k`, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes 1000-1999/${bytes.length}`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes.subarray(1000, 2000));

    const repaired = await host.request('/api/storage/repair', { method: 'POST', admin: true });
    assert.deepEqual(((await repaired.json()) as { copied: string[] }).copied, [`${id}/mp3-64k.mp3`]);
    assert.deepEqual(readFileSync(primaryFile), bytes);
  });
});
