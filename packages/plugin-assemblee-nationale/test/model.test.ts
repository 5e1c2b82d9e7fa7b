import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  assembleeNationalePlugin,
  commissionFields,
  hostsOf,
  optionsSchema,
  isCommissionOrgane,
  kindOfPath,
  parseActeur,
  parseNvs,
  parseOrgane,
  parseRetryAfter,
  parseReunion,
  parseVideoPage,
  publicUrlOf,
  recordsOf,
  splitAgenda,
  splitName,
  type VideoNvs,
} from '@robian/plugin-assemblee-nationale';
import { createTestEnvironment, startTestHost } from '@robian/test-support';
import { FIXTURES, FIXTURES_JSON, FIXTURES_SKIP, fixtureJson, fixtureText } from './helpers.ts';

const NOW = new Date('2026-11-25T12:00:00Z');

describe('the real AN samples', () => {
  it('are readable beside the repository (../shared), or the suite says why not', { skip: FIXTURES_SKIP }, () => {
    // under CI=true FIXTURES_SKIP is false: a missing ../shared fails here instead of skipping
    assert.ok(existsSync(FIXTURES_JSON), `the AN samples must be at ${FIXTURES}`);
  });
});

describe('AN records → catalogue fields (real samples)', { skip: FIXTURES_SKIP }, () => {
  const organes = () => {
    const map = new Map();
    for (const uid of ['PO59048', 'PO838901', 'PO78718', 'PO845413', 'PO854396', 'PO415287', 'PO273589']) {
      const o = parseOrgane(fixtureJson('organe', uid));
      map.set(o.uid, o);
    }
    return map;
  };

  it('organes: committees with short name and kind; groups, the Assemblée and the Sénat are not committees', () => {
    const all = organes();
    const fin = all.get('PO59048');
    assert.ok(isCommissionOrgane(fin));
    assert.deepEqual(commissionFields(fin), {
      externalId: 'PO59048',
      name: "Commission des finances, de l'économie générale et du contrôle budgétaire",
      shortName: 'Finances',
      slug: 'finances',
      kind: 'commission_permanente',
      active: true,
    });
    assert.equal(isCommissionOrgane(all.get('PO838901')), false, 'ASSEMBLEE');
    assert.equal(isCommissionOrgane(all.get('PO78718')), false, 'SENAT');
    assert.equal(isCommissionOrgane(all.get('PO845413')), false, 'GP');
    // a shouted libelleAbrege gives way to the name; a lower-case one is capitalised
    assert.equal(commissionFields(all.get('PO854396')).shortName, 'Énergies durables et hydrogène');
    assert.equal(commissionFields(all.get('PO854396')).kind, 'groupe_etudes');
    assert.match(commissionFields(all.get('PO273589')).shortName ?? '', /^Office parlementaire/);
  });

  it('acteurs: name, group from the active GP mandate, active from the AN mandate; no mandats → inactive, no group', () => {
    const panot = parseActeur(fixtureJson('acteur', 'PA720892'), organes(), NOW);
    assert.equal(panot.fields.fullName, 'Mathilde Panot');
    assert.equal(panot.fields.politicalGroup, 'La France insoumise - Nouveau Front Populaire');
    assert.equal(panot.fields.politicalGroupShort, 'LFI-NFP');
    assert.equal(panot.fields.active, true);
    assert.deepEqual(panot.warnings, []);
    const bregeon = parseActeur(fixtureJson('acteur', 'PA795990'), organes(), NOW);
    assert.equal(bregeon.fields.fullName, 'Maud Bregeon');
    assert.equal(bregeon.fields.active, false);
    assert.equal(bregeon.fields.politicalGroup, null);
    // a group organe absent from the export: the group is left as it was, with a warning
    const chenu = parseActeur(fixtureJson('acteur', 'PA720468'), organes(), NOW);
    assert.equal(chenu.fields.politicalGroup, undefined);
    assert.match(chenu.warnings[0] ?? '', /PO845401 is not in the export/);
  });

  it('réunions: type, title, dates, status, Sénat and life-cycle traps', () => {
    const o = organes();
    const qag = parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDS28723'), o, NOW);
    assert.equal(qag.fields.type, 'question_gouvernement');
    assert.equal(qag.fields.title, '1re séance : Questions au Gouvernement');
    assert.equal(qag.fields.agendaPoints.length, 4);
    // the 4 June séance had its QAG point deleted: an ordinary séance
    const s29501 = parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDS29501'), o, NOW);
    assert.equal(s29501.fields.type, 'seance_publique');
    assert.ok(!s29501.fields.agendaPoints.some((p) => /Questions au Gouvernement/.test(p)), 'deleted agenda points are left out');
    const s29505 = parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDS29505'), o, NOW);
    assert.match(s29505.fields.title, /^3e séance : /);
    assert.equal(s29505.fields.startTime.toISOString(), '2025-06-05T19:30:00.000Z');
    assert.equal(s29505.fields.endTime?.toISOString(), '2025-06-05T22:00:00.000Z');
    assert.equal(s29505.fields.durationMinutes, 150);
    assert.equal(s29505.fields.legislature, 17);
    assert.equal(s29505.fields.status, 'termine');
    assert.equal(parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDS29505'), o, new Date('2025-01-01')).fields.status, 'programme');
    assert.equal(parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDS29577'), o, NOW).state, 'deleted');
    assert.equal(parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDC456375'), o, NOW).state, 'cancelled');
    const senat = parseReunion(fixtureJson('reunion', 'RUSNR5L17S2025IDS29593'), o, NOW);
    assert.equal(senat.senat, true);
    const audition = parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDC456220'), o, NOW);
    assert.equal(audition.fields.type, 'audition');
    assert.match(audition.fields.title, /^Audition de M\. Benjamin Haddad/);
    assert.equal(audition.organeRef, 'PO415287');
    const finances = parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDC456067'), o, NOW);
    assert.equal(finances.fields.type, 'commission');
    assert.equal(finances.fields.agendaPoints.length, 2);
    assert.equal(finances.fields.location, 'Salle 6350 – Palais Bourbon, 1er étage');
    const eventuel = parseReunion(fixtureJson('reunion', 'RUANR5L17S2026IDC458171'), o, NOW);
    assert.deepEqual(eventuel.fields.tags, ['eventuel']);
    assert.equal(eventuel.fields.endTime, null);
    assert.ok(parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDC456466'), o, NOW).fields.tags.includes('sans-video'));
    // no text of the AN keeps its HTML references
    assert.ok(!JSON.stringify(parseReunion(fixtureJson('reunion', 'RUANR5L17S2025IDS29503'), o, NOW).fields).includes('&#8209;'));
  });
});

describe('AN records written by the project (same format)', () => {
  it('reports what makes a record unusable', () => {
    assert.throws(() => parseReunion({ uid: 'RUANR5L17S2025IDC1' }, new Map()), /timeStampDebut is missing/);
    assert.throws(() => parseReunion({ timeStampDebut: '2025-06-04T09:00:00.000+02:00' }, new Map()), /no valid uid/);
    assert.throws(() => parseActeur({ uid: { '#text': 'PA1' }, etatCivil: { ident: { prenom: 'A' } } }, new Map()), /prenom\/nom/);
    assert.throws(() => parseOrgane({ uid: 'PO1', libelle: 'X' }), /codeType/);
  });

  it('tolerates an end before the start and an unknown organe', () => {
    const r = parseReunion(
      {
        '@xsi:type': 'reunionCommission_type',
        uid: 'RUANR5L17S2025IDC9',
        timeStampDebut: '2025-06-04T09:00:00.000+02:00',
        timeStampFin: '2025-06-04T08:00:00.000+02:00',
        cycleDeVie: { etat: 'Confirmé' },
        organeReuniRef: 'PO999999',
        ODJ: { resumeODJ: { item: '–  table ronde sur l’eau ;\r–  audition de X.' } },
      },
      new Map(),
      NOW,
    );
    assert.equal(r.fields.endTime, null);
    assert.equal(r.fields.type, 'audition');
    assert.deepEqual(r.fields.agendaPoints, ['Table ronde sur l’eau', 'Audition de X']);
    assert.equal(r.warnings.length, 2);
  });

  it('splits an ODJ text into points', () => {
    assert.deepEqual(splitAgenda({ item: '- a ;\r\r– b.' }), ['A', 'B']);
    assert.deepEqual(splitAgenda(null), []);
  });

  it('reads one-record files and aggregated exports, and names what it cannot use', () => {
    const kinds = (doc: unknown) => [...recordsOf(doc, 'x.json')].map((i) => (i.type === 'record' ? i.kind : `problem:${i.reason.slice(0, 10)}`));
    assert.deepEqual(kinds({ reunion: {} }), ['reunion']);
    assert.deepEqual(kinds({ export: { reunions: { reunion: [{}, {}] }, organes: { organe: {} }, acteurs: { acteur: [{}] } } }), ['organe', 'acteur', 'reunion', 'reunion']);
    assert.deepEqual(kinds({ foo: 1 }), ['problem:not an AN ']);
    assert.equal(kindOfPath('json/organe/PO1.json'), 'organe');
    assert.equal(kindOfPath('PA12.json'), 'acteur');
    assert.equal(kindOfPath('x/RUANR5.json'), 'reunion');
  });

  it('parses Retry-After as seconds or a date', () => {
    assert.equal(parseRetryAfter('7'), 7);
    assert.equal(parseRetryAfter('Wed, 25 Nov 2026 12:00:03 GMT', Date.parse('2026-11-25T12:00:00Z')), 3);
    assert.equal(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', Date.parse('2026-11-25T12:00:00Z')), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(null), undefined);
  });

  it('splits a speaker name', () => {
    assert.deepEqual(splitName('Mme Constance de Pélichy'), { firstName: 'Constance', lastName: 'de Pélichy', fullName: 'Constance de Pélichy' });
  });
});

describe('the video page and its data.nvs (real samples)', { skip: FIXTURES_SKIP }, () => {
  const pageUrl = 'https://videos.assemblee-nationale.fr/video.19502241_6ac548b948b27.2eme-seance';
  it('page: MP4 from og:video, HLS master from config_json, interface uid', () => {
    const page = parseVideoPage(fixtureText('videos-an', '19502241_6ac548b948b27', 'page.trimmed.html'), pageUrl);
    assert.equal(page.interfaceUid, '19502241_6ac548b948b27');
    assert.equal(page.mp4Url, 'http://anorigin.vodalys.com/vod/mp4/ida/domain1/2026/10/hemi_20261006211505_1.mp4');
    assert.equal(page.hlsUrl, 'http://videos-an.vodalys.com/videos/definst/mp4/ida/domain1/2026/10/hemi_20261006211505_1.mp4/master.m3u8');
    assert.equal(page.captionsUrl, 'https://videos.assemblee-nationale.fr/Datas/an/19502241_6ac548b948b27/files/hemi_20261006211505_1.srt');
    assert.equal(page.reportUrl, 'https://www.assemblee-nationale.fr/dyn/17/comptes-rendus/seance/CRSANR5L17S2027O1N010');
    assert.match(page.description ?? '', /autorité judiciaire/);
  });

  it('nvs: chapters in order with speakers (AN ids → PA…), media files, meeting_id', () => {
    const nvs: VideoNvs = parseNvs(fixtureText('videos-an', '19502241_6ac548b948b27', 'data.nvs'));
    assert.equal(nvs.meetingId, 'RUANR5L17S2027IDS30927');
    assert.equal(nvs.interfaceUid, '19502241_6ac548b948b27');
    assert.equal(nvs.legislature, 17);
    assert.equal(nvs.videoType, 'seance_publique');
    assert.equal(new Date(nvs.recordedAt!).toISOString(), '2026-10-06T19:15:05.000Z');
    assert.equal(nvs.chapters.length, 26);
    assert.equal(nvs.chapters[0]!.title, 'RÉPONSE INTÉGRALE AUX VIOLENCES SEXUELLES ET SEXISTES CONTRE LES FEMMES ET LES ENFANTS (suite)');
    assert.equal(nvs.chapters[0]!.level, 0);
    const goulet = nvs.chapters.find((c) => c.title === 'Mme Perrine Goulet');
    assert.deepEqual(goulet, { title: 'Mme Perrine Goulet', start_seconds: null, level: 3, kind: 'Intervention', speaker_external_id: 'PA720560', speaker_name: 'Mme Perrine Goulet' });
    assert.ok(nvs.chapters.every((c) => c.start_seconds === null), 'the NVS gives the order, not the times');
    assert.equal(nvs.speakers.length, 43);
    assert.ok(nvs.speakers.some((s) => s.externalId === 'PA720468' && s.name === 'M. Sébastien Chenu'));
    assert.match(nvs.description ?? '', /^- Suite de la discussion.*\n- Suite/s);
    const page = parseVideoPage(fixtureText('videos-an', '19502241_6ac548b948b27', 'page.trimmed.html'), pageUrl);
    const audio = nvs.files.find((f) => f.title === 'audio')!;
    assert.equal(publicUrlOf(audio.url, nvs, page), 'http://anorigin.vodalys.com/vod/mp4/ida/domain1/2026/10/hemi_20261006211505.mp3');
  });

  it('refuses a page that names no video', () => {
    assert.throws(() => parseVideoPage('<html></html>', 'https://videos.assemblee-nationale.fr/x'), /no interface uid/);
  });
});

describe('configuration', () => {
  it('owns the three published hosts by default, and the hosts of the configured bases otherwise', () => {
    assert.deepEqual(hostsOf(optionsSchema.parse({})), ['videos.assemblee-nationale.fr', 'videos-an.vodalys.com', 'anorigin.vodalys.com']);
    assert.deepEqual(hostsOf(optionsSchema.parse({ videosBaseUrl: 'http://127.0.0.1:9000', hlsBaseUrl: 'http://mirror.example/hls/' })), ['127.0.0.1:9000', 'mirror.example', 'anorigin.vodalys.com']);
  });

  it('refuses a bad base URL and names its environment variable', async () => {
    const env = await createTestEnvironment('sqlite', { AN_VODALYS_HLS_BASE_URL: 'ftp://videos.example/' });
    try {
      await assert.rejects(
        (async () => {
          const host = await startTestHost({ environment: env, plugins: [assembleeNationalePlugin] });
          await host.close();
        })(),
        /AN_VODALYS_HLS_BASE_URL/,
      );
    } finally {
      await env.cleanup();
    }
  });
});

describe('a page without og:video (real page, tag removed)', { skip: FIXTURES_SKIP }, () => {
  it('maps the NVS files with config_json download_url + folder', () => {
    const html = fixtureText('videos-an', '19502241_6ac548b948b27', 'page.trimmed.html').replace(/<meta property="og:video"[^>]*>/, '').replace(/<meta itemprop="contentURL"[^>]*>/, '');
    const page = parseVideoPage(html, 'https://videos.assemblee-nationale.fr/video.19502241_6ac548b948b27.x');
    assert.equal(page.mp4Url, null);
    assert.equal(page.hlsUrl, null);
    const nvs = parseNvs(fixtureText('videos-an', '19502241_6ac548b948b27', 'data.nvs'));
    assert.equal(publicUrlOf('serverfiles://data9/domain1/2026/10/hemi_20261006211505_1.mp4', nvs, page), 'http://anorigin.vodalys.com/vod/mp4/ida/domain1/2026/10/hemi_20261006211505_1.mp4');
    assert.equal(publicUrlOf('serverfiles://data9/domain1/2026/10/hemi_20261006211505.mp3', nvs, page), 'http://anorigin.vodalys.com/vod/mp4/ida/domain1/2026/10/hemi_20261006211505.mp3');
    assert.equal(publicUrlOf('rtmp://vipwowza.yacast.net/x', nvs, page), null);
  });
});
