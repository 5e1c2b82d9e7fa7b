import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  PoliteFetcher,
  interventions,
  parseEdito,
  parseListing,
  parseLiveTxt,
  parseNvs,
  parsePlayer,
  parseReport,
  parseSrt,
  reportUidOf,
  speechSegments,
  timeChapters,
  titleSimilarity,
  listingUrl,
  catchUpDays,
} from '@robian/plugin-assemblee-nationale';
import { FIXTURES, FIXTURES_SKIP, VIDEO_DIR, serve, type TestServer } from './helpers.ts';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

describe('the platform files, read leniently', { skip: FIXTURES_SKIP }, () => {
  it('eventsearch: BOM, unknown and missing fields, entries without a uid, duplicates, Latin-1', () => {
    const json = `\uFEFF${JSON.stringify([
      { nid: 1, mediaId: '19502241', date: 1791314105, title: '2ème séance', video_type: 'S', url: '/19502241_6ac548b948b27', autre: [1] },
      { nid: 2, title: 'sans url' },
      { url: '/19502241_6ac548b948b27' },
      { mediaId: 17023620, hash: '6841ecc048526', date: '1749151800', video_type: 'C', commission: 'Commission des lois' },
      'pas un objet',
    ])}`;
    const videos = parseListing(json);
    assert.deepEqual(videos.map((v) => [v.interfaceUid, v.date, v.videoType]), [
      ['19502241_6ac548b948b27', 1791314105000, 'S'],
      ['17023620_6841ecc048526', 1749151800000, 'C'],
    ]);
    assert.equal(parseListing(latin1(JSON.stringify([{ url: '/1234567_abcdef1', title: 'Séance' }])))[0]!.title, 'Séance');
    assert.deepEqual(parseListing(''), []);
    assert.throws(() => parseListing('<html>'), /not JSON/);
    assert.equal(listingUrl('https://v/', '05/06/2025'), 'https://v/php/eventsearch.php?Date=05%2F06%2F2025&Intervenant=&Commission=&Heure=&TypeVideo=&Rubrique=');
    assert.deepEqual(catchUpDays(Date.UTC(2025, 5, 5, 23, 30), 2), ['06/06/2025', '05/06/2025'], 'days are Paris days');
  });

  it('player NVS: synchros by chapter id (ms from starttime), BOM, Latin-1, unknown elements, bad synchros skipped', () => {
    const t = parsePlayer(latin1(`\uFEFF<?xml version="1.0" encoding="ISO-8859-1"?><player starttime="1791314105" titre="séance"><synchro id="a" timecode="5000"/><synchro id="b" timecode="x"/><synchro timecode="9"/><synchro id="a" timecode="7000"/><autre/><synchro id='c' timecode='65000'></synchro></player>`));
    assert.equal(t.startTime, 1791314105000);
    assert.deepEqual([...t.synchros], [['a', 5000], ['c', 65000]]);
    assert.equal(parsePlayer('<player>').startTime, null);
  });

  it('chapters: times from the synchros, ends at the next start; the compte rendu as fallback and cross-check', () => {
    const nvs = parseNvs(readFileSync(join(VIDEO_DIR, 'data.nvs'), 'utf8'));
    assert.equal(nvs.chapterIds.length, nvs.chapters.length);
    assert.equal(nvs.reportUrl, 'https://www.assemblee-nationale.fr/dyn/17/comptes-rendus/seance/CRSANR5L17S2027O1N010');
    const goulet = nvs.chapterIds.indexOf('19502958');
    const synchros = new Map(nvs.chapterIds.map((id, i) => [id!, (i * 30 + 10) * 1000]));
    const speeches = [
      { speakerExternalId: 'PA720560', speakerName: 'Mme Perrine Goulet', stime: goulet * 30 + 10 + 12, text: 'x' },
      { speakerExternalId: 'PA841359', speakerName: 'Mme de Pélichy', stime: (goulet + 1) * 30 + 10 + 2, text: 'y' },
    ];
    const timed = timeChapters(nvs.chapters, nvs.chapterIds, { startTime: 1, synchros }, speeches, 5);
    assert.equal(timed.source, 'synchro');
    assert.equal(timed.timed, nvs.chapters.length);
    assert.deepEqual([timed.chapters[0]!.start_seconds, timed.chapters[0]!.end_seconds], [10, 40]);
    assert.deepEqual(timed.disagreements, [{ title: 'Mme Perrine Goulet', synchro_seconds: goulet * 30 + 10, report_seconds: goulet * 30 + 22, difference_seconds: 12 }], 'Goulet is 12 s off; Pélichy within 5 s');
    const fallback = timeChapters(nvs.chapters, nvs.chapterIds, null, speeches, 5);
    assert.equal(fallback.source, 'compte_rendu');
    assert.equal(fallback.chapters[goulet]!.start_seconds, goulet * 30 + 22);
    assert.equal(fallback.chapters[0]!.start_seconds, null, 'a chapter without a speaker has no time from the compte rendu');
    assert.equal(timeChapters(nvs.chapters, nvs.chapterIds, null, null, 5).timed, 0);
  });

  it('SRT: the real Latin-1 captions; UTF-8 with BOM and CRLF; a truncated last cue', () => {
    const cues = parseSrt(readFileSync(join(VIDEO_DIR, 'hemi_20261006211505_1.head.srt')));
    assert.equal(cues.length, 51, '52 cues, the last one cut before its text');
    assert.deepEqual(cues[0], { start: 448.67, end: 898.419, text: 'Présidence de M.' });
    assert.ok(cues.some((c) => c.text.includes('«')), 'guillemets decoded from Latin-1');
    const utf8 = parseSrt(Buffer.from('\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Séance</i> ouverte\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\n', 'utf8'));
    assert.deepEqual(utf8, [{ start: 1, end: 2.5, text: 'Séance ouverte' }]);
  });

  it('compte rendu: speeches of style NORMAL with speaker and stime; stage directions left out', () => {
    const r = parseReport(readFileSync(join(FIXTURES, 'xml', 'compteRendu', 'CRSANR5L17S2026O1N187.xml')));
    assert.equal(r.uid, 'CRSANR5L17S2026O1N187');
    assert.equal(r.synchronised, true);
    const gustave = r.speeches.find((s) => s.speakerExternalId === 'PA842013')!;
    assert.equal(gustave.stime, 1000.7);
    assert.equal(gustave.speakerName, 'M. Steevy Gustave');
    assert.ok(!gustave.text.includes('Applaudissements'));
    assert.equal(interventions(r.speeches)[1]!.speakerExternalId, 'PA842013');
    const segments = speechSegments(r.speeches);
    assert.deepEqual([segments[0]!.start_seconds, segments[0]!.end_seconds], [981.3, 985.15]);
    assert.ok(segments.at(-1)!.end_seconds - segments.at(-1)!.start_seconds <= 120, 'the last speech lasts the median, at most 120 s');
    const unsynced = parseReport('<compteRendu><paragraphe code_style="NORMAL" id_acteur="PA1"><texte stime="0">Bonjour</texte></paragraphe><paragraphe code_style="Titre"><texte>T</texte></paragraphe></compteRendu>');
    assert.equal(unsynced.synchronised, false);
    assert.deepEqual(unsynced.speeches.map((s) => [s.speakerExternalId, s.stime]), [['PA1', null]]);
    assert.equal(reportUidOf('https://www.assemblee-nationale.fr/dyn/17/comptes-rendus/seance/CRSANR5L17S2027O1N010'), 'CRSANR5L17S2027O1N010');
    assert.equal(reportUidOf('https://example.org/'), null);
  });

  it('live.txt and getedito: BOM, CRLF, comments, Latin-1, escaped subjects, unknown and missing fields', () => {
    assert.deepEqual(parseLiveTxt('\uFEFF36 19502241_6ac548b948b27\r\n# x\r\n\r\n37\r\n36 again\r\nbad/flux x\r\n'), [
      { flux: '36', mediaUid: '19502241_6ac548b948b27' },
      { flux: '37', mediaUid: null },
    ]);
    const edito = parseEdito(latin1(`<?xml version="1.0" encoding="ISO-8859-1"?><editorial><diffusion><flux>36</flux><heure>0030</heure><sujet>Projet de loi &amp;lt;finances&amp;gt; &amp;amp; débat</sujet><uid_referentiel>RUANR5L17S2025IDS29505</uid_referentiel><inconnu/></diffusion><diffusion><flux>37</flux><uid_referentiel>pas un uid !</uid_referentiel></diffusion></editorial>`));
    assert.deepEqual(edito.map((d) => [d.flux, d.meetingId, d.time]), [['36', 'RUANR5L17S2025IDS29505', '0030'], ['37', null, null]]);
    assert.equal(edito[0]!.title, 'Projet de loi <finances> & débat');
  });

  it('fuzzy matching of titles ignores accents, case and short words', () => {
    assert.equal(titleSimilarity('2ème séance : Réponse intégrale', '2EME SEANCE - reponse integrale'), 1);
    assert.ok(titleSimilarity('Commission des lois', 'Commission des finances') < 0.5);
  });
});

describe('the fetcher is polite', () => {
  let server: TestServer;
  let inFlight = 0;
  let maxInFlight = 0;
  const times: { path: string; at: number; status: number }[] = [];
  let storm = 0;
  before(async () => {
    server = await serve((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.once('close', () => inFlight--);
      if (storm > 0) {
        storm--;
        times.push({ path, at: Date.now(), status: 429 });
        res.writeHead(429, { 'retry-after': '1' });
        res.end();
        return;
      }
      times.push({ path, at: Date.now(), status: 200 });
      if (path === '/data.zip') {
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"' });
          res.end();
          return;
        }
        res.writeHead(200, { etag: '"v1"', 'last-modified': 'Mon, 01 Dec 2025 00:00:00 GMT' });
        res.end('zip bytes');
        return;
      }
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(path);
      }, 20);
    });
  });
  after(() => server.close());
  const fetcher = () => new PoliteFetcher({ allowedHosts: () => new Set([new URL(server.url).host]), maxConcurrent: 4, maxPerHost: 1, maxRetries: 6, retryBaseMs: 50, maxRetryAfterSeconds: 10, userAgent: 'robian-test' });

  it('one request at a time per host, whatever the callers', async () => {
    maxInFlight = 0;
    const f = fetcher();
    await Promise.all(Array.from({ length: 6 }, (_, i) => f.text(`${server.url}/p${i}`, { timeoutMs: 5000, maxBytes: 1000 })));
    assert.equal(maxInFlight, 1);
  });

  it('a 429 storm: Retry-After holds every request to the host, and all of them end well', async () => {
    times.length = 0;
    storm = 3;
    const f = fetcher();
    const bodies = await Promise.all(Array.from({ length: 4 }, (_, i) => f.text(`${server.url}/s${i}`, { timeoutMs: 5000, maxBytes: 1000 })));
    assert.deepEqual(bodies.map((b) => b.text), ['/s0', '/s1', '/s2', '/s3']);
    assert.equal(times.filter((t) => t.status === 429).length, 3);
    for (let i = 1; i < times.length; i++) {
      if (times[i - 1]!.status === 429) assert.ok(times[i]!.at - times[i - 1]!.at >= 950, `request ${i} came ${times[i]!.at - times[i - 1]!.at} ms after a 429 with Retry-After: 1`);
    }
    assert.equal(maxInFlight, 1);
  });

  it('conditional GET: the validators of the last download, a 304 costs no body', async () => {
    const { mkdtempSync, rmSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'robian-cond-'));
    try {
      const f = fetcher();
      const first = await f.download(`${server.url}/data.zip`, join(dir, 'a.zip'), { timeoutMs: 5000, maxBytes: 1000 });
      assert.deepEqual(first.validators, { etag: '"v1"', lastModified: 'Mon, 01 Dec 2025 00:00:00 GMT' });
      const second = await f.download(`${server.url}/data.zip`, join(dir, 'b.zip'), { timeoutMs: 5000, maxBytes: 1000, validators: first.validators });
      assert.equal(second.notModified, true);
      assert.equal(existsSync(join(dir, 'b.zip')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
