import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseFeed } from 'podcast-partytime';
import { AudioFileSchema, DebateSchema, type EntityManager } from '@robian/core';
import { officialPlugins } from '@robian/host';
import { STORAGE_MODES, startTestHost, type TestHost } from '@robian/test-support';

// A saved search or a collection can match thousands of debates: their feeds consider the first 500.
const COUNT = 520;
const title = (i: number) => `Plafond des crédits, réunion n° ${String(i).padStart(3, '0')}`;

async function page(host: TestHost, path: string) {
  const res = await fetch(host.url + path);
  assert.equal(res.status, 200, path);
  const text = await res.text();
  return { titles: parseFeed(text)!.items.map((i) => i.title), next: /rel="next"/.test(text) };
}

for (const mode of STORAGE_MODES) {
  describe(`podcast feeds of chosen debates are bounded (${mode.name})`, { skip: mode.skip }, () => {
    let host: TestHost;
    let ids: number[];
    before(async () => {
      host = await startTestHost({ mode: mode.name, plugins: officialPlugins(), env: { AUDIO_BITRATE: '64k', PODCAST_PAGE_SIZE: '250' } });
      // debates with a ready mp3 64k rendition, as rows (the feeds read rows, never the files)
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      const debates = Array.from({ length: COUNT }, (_, i) =>
        em.create(DebateSchema, { title: title(i), type: 'commission', status: 'disponible', hasAudio: true, date: new Date(Date.UTC(2020, 0, 1) + i * 86_400_000) } as never),
      );
      await em.flush();
      for (const [i, d] of debates.entries()) {
        em.create(AudioFileSchema, { debate: d, format: 'mp3', quality: '64k', storageKey: `test/${d.id}.mp3`, mimeType: 'audio/mpeg', fileSize: 1000 + i, durationSeconds: 60 } as never);
      }
      await em.flush();
      ids = debates.map((d) => d.id as number);
    });
    after(async () => {
      await host?.close();
    });

    it('a saved search that matches more than 500 debates has 500 items', async () => {
      const first = await page(host, '/feeds/search.xml?q=plafond');
      assert.equal(first.titles.length, 250);
      assert.ok(first.next);
      const second = await page(host, '/feeds/search.xml?q=plafond&page=2');
      assert.equal(second.titles.length, 250);
      assert.equal(second.next, false, 'no page after the 500th item');
      assert.equal(new Set([...first.titles, ...second.titles]).size, 500);
      assert.deepEqual((await page(host, '/feeds/search.xml?q=plafond&page=3')).titles, []);
    });

    it("a collection of more than 500 debates has its first 500, in the collection's order", async () => {
      const device = (await (await host.request('/api/auth/device', { method: 'POST', json: {} })).json()) as { access_token: string };
      const auth = { authorization: `Bearer ${device.access_token}` };
      const created = (await (await host.request('/api/collections/', { method: 'POST', json: { name: 'Tout le plafond', is_public: true }, headers: auth })).json()) as { id: number | string };
      const cid = String(created.id);
      // newest first in the collection: position 0 is the last debate
      const em = host.robian.kernel.orm.em.fork() as unknown as EntityManager;
      for (const [position, id] of [...ids].reverse().entries()) em.create('ListenerCollectionItem' as never, { collection: Number(cid), debate: id, position } as never);
      await em.flush();
      const first = await page(host, `/feeds/collections/${cid}.xml`);
      const second = await page(host, `/feeds/collections/${cid}.xml?page=2`);
      assert.equal(second.next, false);
      assert.deepEqual([...first.titles, ...second.titles], Array.from({ length: 500 }, (_, k) => title(COUNT - 1 - k)));
      assert.deepEqual((await page(host, `/feeds/collections/${cid}.xml?page=3`)).titles, []);
    });
  });
}
