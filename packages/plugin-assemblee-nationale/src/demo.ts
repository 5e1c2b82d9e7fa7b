import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * AN open-data records written by the project, in the structure of the real datasets (AMO organes
 * and acteurs, Agenda réunions, as in the AN zips: one `{"organe"|"acteur"|"reunion": {…}}` per file).
 * `robian db seed` imports {@link demoRecords} through the importer, and the tests build their
 * datasets with the same builders, so both go through the code path real data takes.
 *
 * Names, groups and texts are made up (no real person). Uids use ranges the AN does not use
 * (`PO99…`, `PA99…`, `RU…IDC99…`/`IDS99…`, seven digits) so that they never collide with real records;
 * the only real uid is PO838901, the organe of the 17th-legislature Assemblée, which the séances
 * and the deputies' mandates point to as real records do.
 */

/** One kind of record per list, as the importer reads them (organes, then acteurs, then réunions). */
export interface AnRecords {
  organes: Record<string, unknown>[];
  acteurs: Record<string, unknown>[];
  reunions: Record<string, unknown>[];
}

const XMLNS = 'http://schemas.assemblee-nationale.fr/referentiel';
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
/** The organe of the 17th-legislature Assemblée (real uid: séances and ASSEMBLEE mandates point to it). */
export const ASSEMBLEE_ORGANE = 'PO838901';

/** An AMO organe: a committee (`COMPER`, `MISINFO`…) or, with `codeType` `GP`, a political group. */
export function organeRecord(uid: string, codeType: string, libelle: string, libelleAbrege: string, options: { since?: string } = {}): Record<string, unknown> {
  const group = codeType === 'GP';
  return {
    '@xmlns': XMLNS,
    '@xmlns:xsi': XSI,
    '@xsi:type': group ? 'GroupePolitique_type' : 'OrganeParlementaire_Type',
    uid,
    codeType,
    libelle,
    libelleEdition: `${group ? 'du' : 'de la'} ${libelle.charAt(0).toLowerCase()}${libelle.slice(1)}`,
    libelleAbrege,
    libelleAbrev: libelleAbrege.toUpperCase().replace(/\W+/g, '').slice(0, 10),
    viMoDe: { dateDebut: options.since ?? '2024-07-01', dateAgrement: null, dateFin: null },
    organeParent: null,
    chambre: null,
    regime: '5ème République',
    legislature: '17',
    secretariat: { secretaire01: null, secretaire02: null },
    ...(group ? { positionPolitique: null, preseance: null, couleurAssociee: null } : {}),
  };
}

/** An AMO acteur with a current ASSEMBLEE mandate and, given `groupRef`, a current GP mandate. */
export function acteurRecord(uid: string, prenom: string, nom: string, options: { civ?: 'M.' | 'Mme'; groupRef?: string } = {}): Record<string, unknown> {
  const mandat = (typeOrgane: string, organeRef: string, codeQualite: string) => ({
    '@xmlns:xsi': XSI,
    '@xsi:type': 'MandatSimple_Type',
    uid: `PM${uid.slice(2)}${typeOrgane}`,
    acteurRef: uid,
    legislature: '17',
    typeOrgane,
    dateDebut: '2024-07-18',
    datePublication: null,
    dateFin: null,
    preseance: null,
    nominPrincipale: '1',
    infosQualite: { codeQualite, libQualite: codeQualite, libQualiteSex: codeQualite },
    organes: { organeRef },
  });
  const mandats = [mandat('ASSEMBLEE', ASSEMBLEE_ORGANE, 'membre'), ...(options.groupRef ? [mandat('GP', options.groupRef, 'Membre')] : [])];
  return {
    '@xmlns': XMLNS,
    uid: { '@xmlns:xsi': XSI, '@xsi:type': 'IdActeur_type', '#text': uid },
    etatCivil: {
      ident: { civ: options.civ ?? 'Mme', prenom, nom, alpha: nom, trigramme: `${prenom.charAt(0)}${nom.slice(0, 2)}`.toUpperCase() },
      dateDeces: { '@xmlns:xsi': XSI, '@xsi:nil': 'true' },
    },
    // the AN writes a single mandat as an object, several as an array
    mandats: { mandat: mandats.length === 1 ? mandats[0] : mandats },
  };
}

const cycleDeVie = (etat: string) => ({ etat, chrono: { creation: '2025-01-06T00:00:00.000+01:00', cloture: null } });

/**
 * A committee réunion (`reunionCommission_type`). Its agenda is the AN's ODJ text (one item, points
 * separated by `\r` and dashes). `participants` are attendance (the importer does not store them).
 */
export function reunionRecord(
  uid: string,
  options: { organeRef: string; start: string; end?: string; etat?: string; agenda: string[]; participants?: string[]; room?: string; video?: boolean },
): Record<string, unknown> {
  return {
    '@xmlns': XMLNS,
    '@xmlns:xsi': XSI,
    '@xsi:type': 'reunionCommission_type',
    uid,
    timeStampDebut: options.start,
    ...(options.end ? { timeStampFin: options.end } : {}),
    lieu: { lieuRef: null, libelleLong: options.room ?? 'Salle 9999 – Palais Bourbon' },
    cycleDeVie: cycleDeVie(options.etat ?? 'Confirmé'),
    demandeur: null,
    organeReuniRef: options.organeRef,
    participants: options.participants
      ? { participantsInternes: { participantInterne: options.participants.map((acteurRef) => ({ acteurRef, presence: 'présent' })) }, personnesAuditionnees: null }
      : null,
    visioConference: 'false',
    sessionRef: null,
    ouverturePresse: 'true',
    captationVideo: options.video === false ? 'false' : 'true',
    ODJ: {
      convocationODJ: null,
      resumeODJ: { item: options.agenda.map((a) => `–  ${a}`).join('\r') },
      pointsODJ: null,
    },
  };
}

/** A point of a séance's agenda: `typePointODJ` "Questions au Gouvernement" makes the séance a QAG. */
export interface SeancePoint {
  objet: string;
  type?: string;
  etat?: string;
}

/** A séance publique (`seance_type`): its agenda is `pointsODJ`; `quantieme` is Première, Deuxième… or Unique. */
export function seanceRecord(uid: string, options: { start: string; end?: string; etat?: string; quantieme: string; points: SeancePoint[]; video?: boolean }): Record<string, unknown> {
  const day = options.start.slice(0, 10);
  const month = Number(day.slice(5, 7));
  // sessions are named after the year they end in: ordinary (October–June) O1, extraordinary (July–September) E1
  const session = `${Number(day.slice(0, 4)) + (month >= 10 ? 1 : 0)}${month >= 7 && month <= 9 ? 'E1' : 'O1'}`;
  return {
    '@xmlns': XMLNS,
    '@xmlns:xsi': XSI,
    '@xsi:type': 'seance_type',
    uid,
    timeStampDebut: options.start,
    ...(options.end ? { timeStampFin: options.end } : {}),
    lieu: { lieuRef: 'AN', libelleLong: 'Assemblée nationale' },
    cycleDeVie: cycleDeVie(options.etat ?? 'Confirmé'),
    demandeur: null,
    organeReuniRef: ASSEMBLEE_ORGANE,
    participants: null,
    visioConference: 'false',
    sessionRef: `SCR5A${session}`,
    ouverturePresse: 'true',
    captationVideo: options.video === false ? 'false' : 'true',
    ODJ: {
      convocationODJ: null,
      resumeODJ: null,
      pointsODJ: {
        pointODJ: options.points.map((p, i) => ({
          '@xsi:type': 'podjSeanceConfPres_type',
          uid: `${uid}PT${String(i + 1).padStart(5, '0')}`,
          cycleDeVie: cycleDeVie(p.etat ?? 'Confirmé'),
          objet: p.objet,
          demandeurPoint: null,
          procedure: null,
          dossiersLegislatifsRefs: null,
          typePointODJ: p.type ?? 'Discussion',
          comiteSecret: 'false',
          textesAssocies: null,
          natureTravauxODJ: 'ODJPR',
        })),
      },
    },
    identifiants: { numSeanceJO: null, idJO: null, quantieme: options.quantieme, DateSeance: `${day}${/[+-]\d{2}:\d{2}$/.exec(options.start)?.[0] ?? '+01:00'}` },
  };
}

/** A record's uid (an acteur's is `{"#text": …}`). */
export function recordUid(record: Record<string, unknown>): string {
  const uid = record.uid;
  const text = typeof uid === 'string' ? uid : (uid as { '#text'?: unknown } | null)?.['#text'];
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]{2,128}$/.test(text)) throw new Error('record has no valid uid');
  return text;
}

/**
 * Writes records in the layout of the AN zips, `<dir>/json/<kind>/<uid>.json`, one record per file
 * (what `robian import assemblee <dir>` and the `assemblee.import` service read). Returns the number of files.
 */
export async function writeRecordFiles(dir: string, records: AnRecords): Promise<number> {
  let n = 0;
  for (const [kind, list] of [['organe', records.organes], ['acteur', records.acteurs], ['reunion', records.reunions]] as const) {
    if (list.length === 0) continue;
    const folder = join(dir, 'json', kind);
    await mkdir(folder, { recursive: true });
    for (const record of list) {
      await writeFile(join(folder, `${recordUid(record)}.json`), JSON.stringify({ [kind]: record }));
      n++;
    }
  }
  return n;
}

// --- the demo catalogue ----------------------------------------------------------------------

const LOIS = 'PO9900001';
const FINANCES = 'PO9900002';
const SOCIALES = 'PO9900003';
const EAU = 'PO9900004';
const TILLEULS = 'PO9900011';
const MAREES = 'PO9900012';
const SOMMETS = 'PO9900013';

/** Paris time (+01:00 in winter, +02:00 in summer) as the AN writes it. */
const at = (day: string, time: string) => `${day}T${time}:00.000${Number(day.slice(5, 7)) >= 4 && Number(day.slice(5, 7)) <= 10 ? '+02:00' : '+01:00'}`;

/**
 * The demo catalogue of `robian db seed`: 4 committees, 3 political groups, 6 deputies and 10 réunions
 * (5 séances publiques, one of them a QAG; commission meetings; auditions and a table ronde) from
 * March 2025 to December 2026, the last one still to come. Always the same records (idempotent import).
 */
export function demoRecords(): AnRecords {
  const organes = [
    organeRecord(LOIS, 'COMPER', 'Commission des lois constitutionnelles, de la législation et de l’administration générale de la République', 'Lois', { since: '1958-12-09' }),
    organeRecord(FINANCES, 'COMPER', 'Commission des finances, de l’économie générale et du contrôle budgétaire', 'Finances', { since: '1958-12-09' }),
    organeRecord(SOCIALES, 'COMPER', 'Commission des affaires sociales', 'Affaires sociales', { since: '2009-07-01' }),
    organeRecord(EAU, 'MISINFO', 'Mission d’information sur l’eau potable dans les communes de montagne', 'Eau potable en montagne', { since: '2025-10-01' }),
    organeRecord(TILLEULS, 'GP', 'Groupe des Tilleuls', 'TIL'),
    organeRecord(MAREES, 'GP', 'Groupe des Marées', 'MAR'),
    organeRecord(SOMMETS, 'GP', 'Groupe des Sommets', 'SOM'),
  ];
  const acteurs = [
    acteurRecord('PA9900001', 'Élise', 'Fontanel', { civ: 'Mme', groupRef: TILLEULS }),
    acteurRecord('PA9900002', 'Joël', 'Bercagne', { civ: 'M.', groupRef: MAREES }),
    acteurRecord('PA9900003', 'Inès', 'Marcillac', { civ: 'Mme', groupRef: TILLEULS }),
    acteurRecord('PA9900004', 'François', 'Delorme-Quéré', { civ: 'M.', groupRef: SOMMETS }),
    acteurRecord('PA9900005', 'Chloé', 'Vasseur-Haddad', { civ: 'Mme', groupRef: MAREES }),
    acteurRecord('PA9900006', 'Noël', 'Kerbriant', { civ: 'M.', groupRef: SOMMETS }),
  ];
  const sobriete = 'Discussion du projet de loi relatif à la sobriété énergétique des bâtiments publics (n° 9901)';
  const reunions = [
    reunionRecord('RUANR5L17S2025IDC9900001', {
      organeRef: LOIS,
      start: at('2025-03-05', '09:30'),
      end: at('2025-03-05', '11:45'),
      agenda: ['Examen du projet de loi relatif à la sobriété énergétique des bâtiments publics (n° 9901) (Mme Inès Marcillac, rapporteure)', 'Nomination d’un rapporteur'],
      participants: ['PA9900001', 'PA9900003', 'PA9900006'],
      room: 'Salle 9901 – Palais Bourbon, 1er étage',
    }),
    seanceRecord('RUANR5L17S2025IDS9900001', {
      start: at('2025-03-11', '15:00'),
      end: at('2025-03-11', '20:00'),
      quantieme: 'Première',
      points: [{ objet: sobriete }, { objet: 'Discussion de la proposition de résolution sur la qualité de l’air intérieur des écoles' }],
    }),
    seanceRecord('RUANR5L17S2025IDS9900002', {
      start: at('2025-03-12', '15:00'),
      end: at('2025-03-12', '20:00'),
      quantieme: 'Première',
      points: [
        { objet: 'Questions au Gouvernement', type: 'Questions au Gouvernement' },
        { objet: `Suite de la d${sobriete.slice(1)}`, type: 'Suite de la discussion' },
      ],
    }),
    seanceRecord('RUANR5L17S2025IDS9900003', {
      start: at('2025-03-12', '21:30'),
      end: at('2025-03-13', '00:30'),
      quantieme: 'Deuxième',
      points: [
        { objet: `Suite de la d${sobriete.slice(1)}`, type: 'Suite de la discussion' },
        { objet: 'Explications de vote et vote par scrutin public sur le projet de loi relatif à la sobriété énergétique des bâtiments publics', type: 'Vote solennel', etat: 'Supprimé' },
      ],
    }),
    reunionRecord('RUANR5L17S2025IDC9900002', {
      organeRef: SOCIALES,
      start: at('2025-05-14', '16:30'),
      end: at('2025-05-14', '18:15'),
      agenda: ['Table ronde, ouverte à la presse, sur l’accès aux soins dans les déserts médicaux, réunissant des médecins généralistes, des infirmiers et des élus locaux'],
      participants: ['PA9900002', 'PA9900005'],
      room: 'Salle 9902 – 101 rue de l’Université, 2ème sous-sol',
    }),
    reunionRecord('RUANR5L17S2025IDC9900003', {
      organeRef: FINANCES,
      start: at('2025-09-24', '09:30'),
      end: at('2025-09-24', '11:00'),
      agenda: ['Audition, ouverte à la presse, du Haut Conseil des finances publiques sur le projet de loi de finances pour 2026'],
      participants: ['PA9900004', 'PA9900002'],
    }),
    reunionRecord('RUANR5L17S2026IDC9900004', {
      organeRef: FINANCES,
      start: at('2025-10-15', '09:00'),
      end: at('2025-10-15', '12:30'),
      agenda: [
        'Examen de la première partie du projet de loi de finances pour 2026 (n° 9902) (M. François Delorme-Quéré, rapporteur général)',
        'Examen des amendements portant sur la fiscalité des véhicules électriques',
      ],
      participants: ['PA9900004', 'PA9900005', 'PA9900006'],
    }),
    reunionRecord('RUANR5L17S2026IDC9900005', {
      organeRef: EAU,
      start: at('2026-01-21', '14:00'),
      end: at('2026-01-21', '15:30'),
      agenda: ['Audition, ouverte à la presse, de représentants des syndicats intercommunaux des eaux de montagne'],
      participants: ['PA9900006', 'PA9900001'],
    }),
    seanceRecord('RUANR5L17S2026IDS9900004', {
      start: at('2026-02-10', '15:00'),
      end: at('2026-02-10', '19:45'),
      quantieme: 'Unique',
      points: [{ objet: 'Discussion de la proposition de loi visant à protéger les haies et les bocages (n° 9903)' }],
    }),
    seanceRecord('RUANR5L17S2027IDS9900005', {
      start: at('2026-12-16', '15:00'),
      quantieme: 'Première',
      points: [{ objet: 'Discussion de la proposition de loi relative à la protection de l’enfance et à l’accueil familial (n° 9904)' }],
    }),
  ];
  return { organes, acteurs, reunions };
}
