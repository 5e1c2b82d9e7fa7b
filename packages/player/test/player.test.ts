// The web player in a real browser (Debian's Chromium through playwright-core) against a started host
// with the demo catalogue and real extracted audio: search, play from a hit, seek (with the Range the
// server saw), speed, chapters, a requested extraction followed live, resume after a reload and on a
// linked device, a keyboard-only journey, axe-core, and screenshots compared with references.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { DESKTOP, PHONE, audioState, axe, launch, newPage, waitAudio } from './browser.ts';
import { capture, MAX_DIFF_RATIO } from './screenshots.ts';
import { MOMENT, SEGMENTS, startSite, type Site } from './site.ts';

describe('the web player in Chromium', () => {
  let site: Site;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  before(async () => {
    [site, browser] = await Promise.all([startSite(), launch()]);
    ({ page, errors } = await newPage(browser, site.url));
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  it('is served at / to browsers, with its own CSP, and not to JSON clients', async () => {
    const html = await fetch(site.url + '/', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(html.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await html.text(), /<div id="app">/);
    const json = await fetch(site.url + '/', { headers: { accept: 'application/json' } });
    assert.doesNotMatch(json.headers.get('content-type') ?? '', /html/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(await (await fetch(site.url + '/', { headers: { accept: 'text/html' } })).text())?.[1];
    assert.ok(asset, 'the page names its script');
    const js = await fetch(site.url + asset, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(site.url + '/assets/..%2Fpackage.json')).status, 404);
  });

  it('searches as you type, with highlights, and a hit opens the sitting', async () => {
    await page.goto('/');
    await page.getByRole('heading', { level: 1 }).waitFor();
    await page.locator('#q').pressSequentially('retraites', { delay: 20 });
    await page.getByRole('heading', { level: 1, name: 'Rechercher : « retraites »' }).waitFor();
    const hit = page.locator('main .cards').getByRole('link', { name: site.pensions.title });
    await hit.waitFor();
    assert.ok((await hit.locator('mark').count()) > 0, 'matches are highlighted');
    assert.equal(await page.locator('#q').evaluate((el) => el === document.activeElement), true, 'typing keeps the focus in the box');
    await hit.click();
    await page.getByRole('heading', { level: 1, name: site.pensions.title }).waitFor();
  });

  it('seeks to 90 %: the player and the Range the server received agree', async () => {
    await page.getByRole('button', { name: 'Écouter', exact: true }).click();
    const { duration } = await waitAudio(page, (a) => !a.paused && a.readyState >= 3, 'playing from the start');
    const target = Math.floor(duration * 0.9);
    const before = site.ranges.length;
    await page.locator('#seek').fill(String(target));
    const s = await waitAudio(page, (a) => Math.abs(a.currentTime - target) < 1 && !a.seeking && a.readyState >= 3, `${target} s`);
    const ranged = site.ranges.slice(before).filter((r) => r.range);
    assert.ok(ranged.length > 0, `the seek asked the server for a range (all requests: ${JSON.stringify(site.ranges)})`);
    const start = Number(/bytes=(\d+)-/.exec(ranged.at(-1)!.range!)?.[1]);
    const byteRatio = start / site.pensions.fileSize;
    const timeRatio = s.currentTime / duration;
    assert.ok(Math.abs(byteRatio - timeRatio) < 0.02, `Range start at ${(byteRatio * 100).toFixed(1)} % of the file, currentTime at ${(timeRatio * 100).toFixed(1)} %`);
  });

  it('a chapter click starts playback within a second of the chapter', async () => {
    await page.getByRole('button', { name: /Article 1er/ }).click();
    const s = await waitAudio(page, (a) => !a.paused && a.readyState >= 3 && a.currentTime > 0, 'playing');
    assert.ok(s.currentTime >= 60 && s.currentTime < 61, `currentTime ${s.currentTime} within a second of 60`);
    await page.getByRole('button', { name: /Article 2/ }).click();
    const s2 = await waitAudio(page, (a) => a.currentTime >= 120 && !a.seeking, '120 s');
    assert.ok(s2.currentTime < 121, `currentTime ${s2.currentTime} within a second of 120`);
    assert.equal(await page.locator('.chapters [aria-current="true"]').textContent().then((t) => t?.includes('Article 2')), true, 'the current chapter is marked');
  });

  it('changes speed and skips by 15 s', async () => {
    await page.locator('#speed').selectOption('1.5');
    assert.equal((await audioState(page)).playbackRate, 1.5);
    await page.locator('#seek').fill('100');
    await waitAudio(page, (a) => Math.abs(a.currentTime - 100) < 1 && !a.seeking, '100 s');
    await page.getByRole('button', { name: 'Reculer de 15 secondes' }).click();
    const s = await waitAudio(page, (a) => a.currentTime < 95 && !a.seeking, 'back 15 s');
    assert.ok(s.currentTime >= 85 && s.currentTime < 88, `back 15 s from 100: ${s.currentTime}`);
    await page.locator('#speed').selectOption('1');
  });

  it('a moment found by search starts playback there, and the transcript follows and jumps', async () => {
    // start from a paused player far before the moment, so that only the moment's own seek can
    // satisfy the wait below (the previous test leaves it playing a few seconds after the moment)
    await page.locator('#seek').fill('10');
    await waitAudio(page, (a) => Math.abs(a.currentTime - 10) < 1 && !a.seeking, '10 s');
    if (!(await audioState(page)).paused) await page.getByRole('button', { name: 'Pause' }).first().click();
    await waitAudio(page, (a) => a.paused, 'paused');
    await page.locator('#q').fill('');
    await page.locator('#q').pressSequentially('retraites', { delay: 20 });
    const moment = page.locator('.moments').getByRole('button', { name: /Claire Dumont, 1 min 15 s/ });
    await moment.waitFor();
    assert.ok((await moment.locator('mark').count()) > 0, 'the quote is highlighted');
    await moment.click();
    const s = await waitAudio(page, (a) => !a.paused && a.readyState >= 3 && a.currentTime >= MOMENT.start_seconds - 0.5 && !a.seeking, 'playing the moment');
    assert.ok(s.currentTime >= MOMENT.start_seconds && s.currentTime < MOMENT.start_seconds + 1, `currentTime ${s.currentTime} within a second of ${MOMENT.start_seconds}`);
    await page.getByRole('heading', { level: 1, name: site.pensions.title }).waitFor();
    const current = page.locator('.transcript [aria-current="true"]');
    await current.waitFor();
    assert.match((await current.textContent()) ?? '', /réforme des retraites/, 'the transcript marks the line being heard');
    const line = SEGMENTS[3]!;
    await page.locator('.transcript').getByRole('button', { name: /pénibilité doit être reconnue/ }).click();
    const j = await waitAudio(page, (a) => a.currentTime >= 110 && !a.seeking, 'the clicked line');
    assert.ok(j.currentTime < line.start_seconds + 1, `jumped to ${j.currentTime}, the line starts at ${line.start_seconds}`);
    await page.locator('.transcript [aria-current="true"]', { hasText: 'pénibilité' }).waitFor();
  });

  it('playback survives navigation, and after a reload resumes at the saved position, also on a linked device', async () => {
    await page.getByRole('link', { name: 'Commissions' }).click();
    await page.getByRole('heading', { level: 1, name: 'Commissions' }).waitFor();
    assert.equal((await audioState(page)).paused, false, 'still playing on another view');
    await page.locator('#seek').fill('150');
    await waitAudio(page, (a) => Math.abs(a.currentTime - 150) < 1 && !a.seeking, '150 s');
    const saved = page.waitForResponse((r) => r.url().includes(`/api/me/progress/${site.pensions.id}`) && r.request().method() === 'PUT');
    await page.getByRole('button', { name: 'Pause' }).first().click();
    await saved;
    const at = (await audioState(page)).currentTime;
    await page.reload();
    const restored = await waitAudio(page, (a) => a.readyState >= 1 && a.currentTime > 0, 'restored');
    assert.ok(Math.abs(restored.currentTime - at) < 1, `resumed at ${restored.currentTime}, saved ${at}`);
    assert.equal(restored.paused, true, 'a reload does not start playing by itself');

    // another device joins the account with a link code and sees the same position
    await page.goto('/#/bibliotheque');
    await page.getByRole('button', { name: 'Obtenir un code' }).click();
    const code = (await page.locator('.code strong').textContent())?.trim() ?? '';
    assert.ok(code.length >= 4, `a code (${code})`);
    const other = await newPage(browser, site.url, PHONE);
    await other.page.goto('/#/bibliotheque');
    await other.page.getByLabel('J’ai un code').fill(code);
    await other.page.getByRole('button', { name: 'Lier cet appareil' }).click();
    await other.page.getByText('Cet appareil est lié à votre compte.').waitFor();
    await other.page.goto(`/#/debat/${site.pensions.id}`);
    const minutes = `${Math.floor(at / 60)}:${String(Math.floor(at % 60)).padStart(2, '0')}`;
    await other.page.getByRole('button', { name: `Reprendre à ${minutes}` }).click();
    const there = await waitAudio(other.page, (a) => !a.paused && a.currentTime > 0, 'playing on the other device');
    assert.ok(Math.abs(there.currentTime - at) < 1.5, `the other device resumed at ${there.currentTime}, saved ${at}`);
    await other.context.close();
  });

  it('requests an extraction, shows its progress live until 100 %, then plays it', async () => {
    await page.goto(`/#/debat/${site.hearing.id}`);
    await page.getByRole('heading', { level: 1, name: site.hearing.title }).waitFor();
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { progressSeen: string[] }).progressSeen = []);
      new MutationObserver(() => {
        const v = document.querySelector('#extract-progress')?.getAttribute('aria-valuetext');
        if (v && seen.at(-1) !== v) seen.push(v);
      }).observe(document.body, { subtree: true, attributes: true, childList: true });
    });
    await page.getByRole('button', { name: 'Demander l’audio' }).click();
    await page.locator('#extract-progress[aria-valuetext="100 %"]').waitFor({ timeout: 60_000 });
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
    assert.ok(seen.some((v) => v !== '0 %' && v !== '100 %'), `progress was shown on the way: ${seen.join(', ')}`);
    await page.getByRole('button', { name: 'Écouter', exact: true }).click();
    await waitAudio(page, (a) => !a.paused && a.currentTime > 0, 'playing');
  });

  it('a keyboard-only journey: search, open, play, pause', async () => {
    const k = await newPage(browser, site.url);
    const p = k.page;
    await p.goto('/');
    await p.getByRole('heading', { level: 1 }).waitFor();
    const focused = () => p.evaluate(() => `${document.activeElement?.tagName}:${(document.activeElement as HTMLElement | null)?.innerText?.trim() || document.activeElement?.getAttribute('aria-label') || document.activeElement?.id}`);
    const tabTo = async (want: RegExp, max = 40) => {
      for (let i = 0; i < max; i++) {
        await p.keyboard.press('Tab');
        if (want.test(await focused())) return;
      }
      assert.fail(`never reached ${want} with Tab (last: ${await focused()})`);
    };
    await p.keyboard.press('Tab');
    assert.match(await focused(), /Aller au contenu/, 'the skip link comes first');
    await tabTo(/^INPUT:q$/);
    await p.keyboard.type('retraites');
    await p.getByRole('heading', { level: 1, name: 'Rechercher : « retraites »' }).waitFor();
    await p.locator('main .cards mark').first().waitFor();
    await tabTo(new RegExp(`^A:${site.pensions.title}`));
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { level: 1, name: site.pensions.title }).waitFor();
    assert.match(await focused(), /^H1:/, 'the new view’s heading takes the focus');
    await tabTo(/^BUTTON:(Écouter|Reprendre)/);
    await p.keyboard.press('Enter');
    await waitAudio(p, (a) => !a.paused && a.currentTime > 0, 'playing');
    await tabTo(/^BUTTON:Pause$/);
    await p.keyboard.press(' ');
    await waitAudio(p, (a) => a.paused, 'paused');
    assert.deepEqual(k.errors, []);
    await k.context.close();
  });

  it('links the podcast feeds of a committee, a deputy, a search and the whole catalogue, and each link fetches RSS', async () => {
    const v = await newPage(browser, site.url);
    // what the link's href answers, read by the browser's own XML parser
    const feedAt = (link: ReturnType<Page['locator']>) =>
      link.evaluate(async (a) => {
        const res = await fetch((a as HTMLAnchorElement).href);
        const doc = new DOMParser().parseFromString(await res.text(), 'application/xml');
        return {
          status: res.status,
          type: res.headers.get('content-type') ?? '',
          error: doc.querySelector('parsererror')?.textContent ?? null,
          root: `${doc.documentElement.nodeName} ${doc.documentElement.getAttribute('version') ?? ''}`,
          title: doc.querySelector('channel > title')?.textContent ?? null,
          items: [...doc.querySelectorAll('channel > item > title')].map((e) => e.textContent ?? ''),
          outlines: doc.querySelectorAll('body > outline').length,
        };
      });
    const subscribe = (p: Page) => p.locator('main').getByRole('link', { name: 'S’abonner (podcast)', exact: true });
    try {
      for (const [tab, path] of [['Commissions', '#/commission/'], ['Député·es', '#/depute/']] as const) {
        await v.page.goto('/');
        await v.page.getByRole('link', { name: tab, exact: true }).click();
        const first = v.page.locator(`main a[href^="${path}"]`).first();
        await first.waitFor();
        await first.click();
        await v.page.locator('main .muted', { hasText: 'Chargement' }).waitFor({ state: 'detached' });
        const name = (await v.page.locator('main h1').textContent()) ?? '';
        const link = subscribe(v.page);
        assert.match((await link.getAttribute('href')) ?? '', path === '#/commission/' ? /^\/feeds\/commissions\/[^/]+\.xml$/ : /^\/feeds\/deputes\/[^/]+\.xml$/);
        const rss = await feedAt(link);
        assert.deepEqual([rss.status, rss.error, rss.root, rss.title], [200, null, 'rss 2.0', name], `${tab}: ${JSON.stringify(rss)}`);
        assert.match(rss.type, /^application\/rss\+xml/);
        const alternate = v.page.locator('head link[rel="alternate"][type="application/rss+xml"]');
        assert.equal(await alternate.count(), 1, 'the feed is announced in the head while the view shows');
        assert.equal(await alternate.getAttribute('href'), await link.getAttribute('href'));
      }
      await v.page.goto('/#/recherche?q=retraites');
      await v.page.locator('main [role="status"]').waitFor();
      const search = await feedAt(subscribe(v.page));
      assert.deepEqual([search.status, search.error, search.root, search.title], [200, null, 'rss 2.0', 'Recherche : retraites']);
      assert.ok(search.items.includes(site.pensions.title), 'the sitting with audio that the words match is an episode');
      await v.page.goto('/');
      const all = await feedAt(v.page.getByRole('link', { name: 'S’abonner (podcast) : toutes les séances' }));
      assert.deepEqual([all.status, all.error, all.root], [200, null, 'rss 2.0']);
      assert.ok(all.items.includes(site.pensions.title));
      const opml = await feedAt(v.page.getByRole('link', { name: 'Les flux de toutes les commissions (OPML)' }));
      assert.deepEqual([opml.status, opml.error, opml.root], [200, null, 'opml 2.0']);
      assert.ok(opml.outlines > 0, 'one outline per committee');
      assert.deepEqual(v.errors, []);
    } finally {
      await v.context.close();
    }
  });

  it('has no serious accessibility violations (axe-core, WCAG 2.1 AA) on the main screens', async () => {
    const found: string[] = [];
    // every main screen on a desktop, the sitting (the busiest) on a phone too
    const screens = [
      [DESKTOP, 'home', '/'],
      [DESKTOP, 'search', '/#/recherche?q=retraites'],
      [DESKTOP, 'debate', `/#/debat/${site.pensions.id}`],
      [DESKTOP, 'deputies', '/#/deputes'],
      [DESKTOP, 'library', '/#/bibliotheque'],
      [PHONE, 'debate', `/#/debat/${site.pensions.id}`],
    ] as const;
    for (const viewport of [DESKTOP, PHONE]) {
      const v = await newPage(browser, site.url, viewport);
      for (const [, name, path] of screens.filter((s) => s[0] === viewport)) {
        await v.page.goto(path);
        await v.page.locator('main h1').waitFor();
        await v.page.locator('main .muted', { hasText: 'Chargement' }).waitFor({ state: 'detached' });
        for (const violation of await axe(v.page)) found.push(`${viewport.width}px ${name}: ${violation.id} (${violation.impact}) ${violation.help} — ${violation.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      }
      await v.context.close();
    }
    assert.deepEqual(found, []);
  });

  it('looks as the references do on a phone and on a desktop', async () => {
    const results = [];
    for (const [size, viewport] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
      const v = await newPage(browser, site.url, viewport);
      for (const [name, path, ready] of [
        ['home', '/', 'main .cards'],
        ['search', '/#/recherche?q=retraites', 'main mark'],
        ['debate', `/#/debat/${site.pensions.id}`, 'main .chapters'],
      ] as const) {
        await v.page.goto(path);
        await v.page.locator(ready).first().waitFor();
        await v.page.locator('main .muted', { hasText: 'Chargement' }).waitFor({ state: 'detached' });
        results.push(await capture(v.page, `${name}-${size}`));
      }
      await v.context.close();
    }
    const off = results.filter((r) => !r.updated && (r.reason || r.ratio > MAX_DIFF_RATIO));
    assert.deepEqual(off.map((r) => `${r.name}: ${r.reason ?? `${(r.ratio * 100).toFixed(2)} % of pixels differ`}`), []);
  });

  it('raised no error in the page', () => {
    assert.deepEqual(errors, []);
  });
});
