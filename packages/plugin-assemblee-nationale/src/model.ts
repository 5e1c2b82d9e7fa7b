import { slugify, type DebateStatus, type DebateType } from '@robian/core';
import { asArray, capitalize, cleanText, isRecord, truncate } from './text.ts';

/** The three record kinds of the AN datasets, in the order an import needs them. */
export const RECORD_KINDS = ['organe', 'acteur', 'reunion'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

/** A record the importer cannot use; the message is the reason reported with its uid. */
export class RecordError extends Error {
  override name = 'RecordError';
}

const UID = /^[A-Za-z0-9_-]{2,128}$/;

function uidOf(value: unknown, what: string): string {
  const raw = isRecord(value) ? value['#text'] : value;
  if (typeof raw !== 'string' || !UID.test(raw.trim())) throw new RecordError(`${what} has no valid uid`);
  return raw.trim();
}

function str(value: unknown): string | null {
  const s = cleanText(value);
  return s === '' ? null : s;
}

function date(value: unknown): Date | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  const v = value.trim();
  // the AN writes dates as "2025-06-04+02:00" (a date with an offset) and date-times as ISO 8601
  const m = /^(\d{4}-\d{2}-\d{2})([+-]\d{2}:\d{2}|Z)?$/.exec(v);
  const d = m ? new Date(`${m[1]}T00:00:00${m[2] ?? 'Z'}`) : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

function stillRunning(end: unknown, now: Date): boolean {
  const d = date(end);
  return d === null || d.getTime() >= now.getTime() - 24 * 3600_000;
}

// --- organes ---------------------------------------------------------------------------------

export interface OrganeInfo {
  uid: string;
  codeType: string;
  xsiType: string;
  name: string;
  shortName: string | null;
  abbreviation: string | null;
  active: boolean;
}

/** `codeType` → Commission.kind (documented in docs/assemblee-nationale.md). */
export const ORGANE_KINDS: Record<string, string> = {
  COMPER: 'commission_permanente',
  COMNL: 'commission',
  CNPE: 'commission_enquete',
  CNPS: 'commission_speciale',
  CMP: 'commission_mixte_paritaire',
  DELEG: 'delegation',
  DELEGBUREAU: 'delegation_bureau',
  OFFPAR: 'office',
  MISINFO: 'mission_information',
  MISINFOCOM: 'mission_information',
  MISINFOPRE: 'mission_information',
  GE: 'groupe_etudes',
  GA: 'groupe_amitie',
  GEVI: 'groupe_etudes',
  BUREAU: 'bureau',
  CONFPT: 'conference_presidents',
  API: 'assemblee_internationale',
};

export function parseOrgane(raw: unknown): OrganeInfo {
  if (!isRecord(raw)) throw new RecordError('organe is not an object');
  const uid = uidOf(raw.uid, 'organe');
  const codeType = typeof raw.codeType === 'string' ? raw.codeType.trim().toUpperCase() : '';
  if (!codeType) throw new RecordError('organe has no codeType');
  const name = str(raw.libelle);
  if (!name) throw new RecordError('organe has no libelle');
  const vimode = isRecord(raw.viMoDe) ? raw.viMoDe : {};
  return {
    uid,
    codeType,
    xsiType: typeof raw['@xsi:type'] === 'string' ? raw['@xsi:type'] : '',
    name,
    shortName: str(raw.libelleAbrege),
    abbreviation: str(raw.libelleAbrev),
    active: stillRunning(vimode.dateFin, new Date()),
  };
}

/** Organes that hold meetings of their own become Commissions; groups, chambers and outside bodies do not. */
export function isCommissionOrgane(o: OrganeInfo): boolean {
  return /^OrganeParlementaire/i.test(o.xsiType) && o.codeType !== 'ASSEMBLEE';
}

export function isSenat(o: OrganeInfo | undefined): boolean {
  return o?.codeType === 'SENAT';
}

export interface CommissionFields {
  externalId: string;
  name: string;
  shortName: string | null;
  slug: string;
  kind: string;
  active: boolean;
}

/** The short name to show: the AN's `libelleAbrege`, unless it is a shouted copy of the name. */
function displayShortName(o: OrganeInfo): string | null {
  let short = o.shortName;
  if (!short) return null;
  if (short.length > 15 && short === short.toLocaleUpperCase('fr')) short = o.name;
  return truncate(capitalize(short), 255);
}

export function commissionFields(o: OrganeInfo): CommissionFields {
  const shortName = displayShortName(o);
  return {
    externalId: o.uid,
    name: truncate(o.name, 512),
    shortName,
    slug: slugify(shortName ?? o.name) || o.uid.toLowerCase(),
    kind: ORGANE_KINDS[o.codeType] ?? o.codeType.toLowerCase(),
    active: o.active,
  };
}

// --- acteurs ---------------------------------------------------------------------------------

export interface DeputyFields {
  externalId: string;
  firstName: string;
  lastName: string;
  fullName: string;
  slug: string;
  /** undefined: the group organe is not known (keep what the database has). */
  politicalGroup: string | null | undefined;
  politicalGroupShort: string | null | undefined;
  active: boolean;
}

export function parseActeur(raw: unknown, organes: ReadonlyMap<string, OrganeInfo>, now = new Date()): { fields: DeputyFields; warnings: string[] } {
  if (!isRecord(raw)) throw new RecordError('acteur is not an object');
  const externalId = uidOf(raw.uid, 'acteur');
  const ident = isRecord(raw.etatCivil) && isRecord(raw.etatCivil.ident) ? raw.etatCivil.ident : undefined;
  const firstName = str(ident?.prenom);
  const lastName = str(ident?.nom);
  if (!firstName || !lastName) throw new RecordError('acteur has no etatCivil.ident prenom/nom');
  const warnings: string[] = [];
  const mandats = isRecord(raw.mandats) ? asArray(raw.mandats.mandat as unknown).filter(isRecord) : [];
  const current = (m: Record<string, unknown>) => {
    const start = date(m.dateDebut);
    const end = date(m.dateFin);
    return (start === null || start <= now) && (end === null || end >= now);
  };
  const groupMandates = mandats
    .filter((m) => m.typeOrgane === 'GP' && current(m))
    .sort((a, b) => String(b.dateDebut ?? '').localeCompare(String(a.dateDebut ?? '')));
  let politicalGroup: string | null | undefined = null;
  let politicalGroupShort: string | null | undefined = null;
  const groupRef = groupMandates.map((m) => (isRecord(m.organes) ? m.organes.organeRef : undefined)).find((r): r is string => typeof r === 'string');
  if (groupRef) {
    const group = organes.get(groupRef);
    if (group) {
      politicalGroup = truncate(group.name, 512);
      politicalGroupShort = group.shortName && group.shortName.length <= 64 ? group.shortName : group.abbreviation && group.abbreviation.length <= 64 ? group.abbreviation : null;
    } else {
      politicalGroup = undefined;
      politicalGroupShort = undefined;
      warnings.push(`political group organe ${groupRef} is not in the export: group left as it was`);
    }
  }
  const active = mandats.some((m) => m.typeOrgane === 'ASSEMBLEE' && current(m));
  const fullName = `${firstName} ${lastName}`;
  return {
    fields: {
      externalId,
      firstName: truncate(firstName, 255),
      lastName: truncate(lastName, 255),
      fullName: truncate(fullName, 512),
      slug: slugify(fullName) || externalId.toLowerCase(),
      politicalGroup,
      politicalGroupShort,
      active,
    },
    warnings,
  };
}

// --- réunions --------------------------------------------------------------------------------

export type ReunionState = 'active' | 'cancelled' | 'deleted';

export interface DebateFields {
  externalId: string;
  title: string;
  description: string | null;
  type: DebateType;
  /** The status the agenda implies (programme or termine); the importer keeps a media status. */
  status: DebateStatus;
  date: Date;
  startTime: Date;
  endTime: Date | null;
  durationMinutes: number | null;
  location: string | null;
  legislature: number | null;
  agendaPoints: string[];
  tags: string[];
}

export interface ParsedReunion {
  uid: string;
  state: ReunionState;
  /** The AN agenda carries some Sénat sittings: they are not AN debates. */
  senat: boolean;
  organeRef: string | null;
  fields: DebateFields;
  warnings: string[];
}

const ORDINALS: Record<string, string> = {
  Première: '1re séance',
  Deuxième: '2e séance',
  Troisième: '3e séance',
  Quatrième: '4e séance',
  Unique: 'Séance',
};

const DEAD_STATES = new Set(['Annulé', 'Supprimé']);
const KNOWN_STATES = new Set(['Confirmé', 'Eventuel', 'Annulé', 'Supprimé']);

/** Splits an AN ODJ text (items separated by line breaks and dashes) into agenda points. */
export function splitAgenda(value: unknown): string[] {
  const items = asArray(isRecord(value) ? (value.item as unknown) : value).filter((v): v is string => typeof v === 'string');
  const out: string[] = [];
  for (const item of items) {
    for (const line of item.split(/\r\n|\r|\n/)) {
      const cleaned = cleanText(line)
        .replace(/^[-–—•·*]+\s*/, '')
        .replace(/\s*[;.]$/, '')
        .trim();
      if (cleaned) out.push(capitalize(cleaned));
    }
  }
  return out;
}

function activePoints(odj: Record<string, unknown>): { objet: string; type: string; nature: string }[] {
  const points = isRecord(odj.pointsODJ) ? asArray(odj.pointsODJ.pointODJ as unknown).filter(isRecord) : [];
  return points
    .filter((p) => {
      const etat = isRecord(p.cycleDeVie) ? p.cycleDeVie.etat : undefined;
      return !(typeof etat === 'string' && DEAD_STATES.has(etat));
    })
    .map((p) => ({ objet: cleanText(p.objet), type: cleanText(p.typePointODJ), nature: cleanText(p.natureTravauxODJ) }))
    .filter((p) => p.objet !== '');
}

const AUDITION = /^(audition|auditions|table[- ]ronde|tables[- ]rondes)\b/i;

export function parseReunion(raw: unknown, organes: ReadonlyMap<string, OrganeInfo>, now = new Date()): ParsedReunion {
  if (!isRecord(raw)) throw new RecordError('reunion is not an object');
  const uid = uidOf(raw.uid, 'reunion');
  const warnings: string[] = [];
  const start = date(raw.timeStampDebut);
  if (!start) throw new RecordError('timeStampDebut is missing or not a date');
  let end = date(raw.timeStampFin);
  if (raw.timeStampFin !== undefined && raw.timeStampFin !== null && !end) warnings.push('timeStampFin is not a date: ignored');
  if (end && end < start) {
    warnings.push('timeStampFin is before timeStampDebut: ignored');
    end = null;
  }
  const cycle = isRecord(raw.cycleDeVie) ? raw.cycleDeVie : {};
  const etat = typeof cycle.etat === 'string' ? cycle.etat.trim() : '';
  if (!KNOWN_STATES.has(etat)) warnings.push(`unknown cycleDeVie.etat "${etat}": imported as confirmed`);
  const state: ReunionState = etat === 'Annulé' ? 'cancelled' : etat === 'Supprimé' ? 'deleted' : 'active';
  const organeRef = typeof raw.organeReuniRef === 'string' && raw.organeReuniRef.trim() ? raw.organeReuniRef.trim() : null;
  const organe = organeRef ? organes.get(organeRef) : undefined;
  const odj = isRecord(raw.ODJ) ? raw.ODJ : {};
  const points = activePoints(odj);
  const senat = /^RUSN/i.test(uid) || isSenat(organe) || (points.length > 0 && points.every((p) => p.nature === 'ODJSN'));
  const xsiType = typeof raw['@xsi:type'] === 'string' ? raw['@xsi:type'] : '';
  const legislatureMatch = /L(\d{1,3})S/.exec(uid);
  const legislature = legislatureMatch ? Number(legislatureMatch[1]) : null;

  let type: DebateType;
  let agendaPoints: string[];
  let title: string;
  const tags: string[] = [];
  if (xsiType === 'seance_type') {
    agendaPoints = points.map((p) => p.objet);
    type = points[0]?.type.toLowerCase() === 'questions au gouvernement' ? 'question_gouvernement' : 'seance_publique';
    const ident = isRecord(raw.identifiants) ? raw.identifiants : {};
    const ordinal = typeof ident.quantieme === 'string' ? ORDINALS[ident.quantieme] : undefined;
    const first = agendaPoints[0];
    title = first ? `${ordinal ?? 'Séance'} : ${truncate(first, 400)}` : `${ordinal ?? 'Séance'} publique`;
  } else {
    agendaPoints = splitAgenda(odj.resumeODJ);
    if (agendaPoints.length === 0) agendaPoints = splitAgenda(odj.convocationODJ);
    if (agendaPoints.length === 0) agendaPoints = points.map((p) => p.objet);
    const first = agendaPoints[0];
    const isAudition = first !== undefined && AUDITION.test(first);
    type = isAudition ? 'audition' : xsiType === 'reunionCommission_type' ? 'commission' : 'autre';
    const body = organe?.shortName ?? organe?.name;
    title = first ? truncate(first, 400) : body ? `Réunion – ${body}` : 'Réunion';
  }
  if (etat === 'Eventuel') tags.push('eventuel');
  if (raw.captationVideo === 'false' || raw.captationVideo === false) tags.push('sans-video');
  if (organeRef && !organe && xsiType !== 'seance_type') warnings.push(`organe ${organeRef} is not in the export: no committee linked`);
  const description = agendaPoints.length > 1 ? agendaPoints.map((p) => `– ${p}`).join('\n') : (agendaPoints[0] ?? null);
  const lieu = isRecord(raw.lieu) ? str(raw.lieu.libelleLong) : null;
  return {
    uid,
    state,
    senat,
    organeRef,
    warnings,
    fields: {
      externalId: uid,
      title: truncate(title, 1000),
      description: description ? truncate(description, 20000) : null,
      type,
      status: start.getTime() > now.getTime() ? 'programme' : 'termine',
      date: start,
      startTime: start,
      endTime: end,
      durationMinutes: end ? Math.round((end.getTime() - start.getTime()) / 60000) : null,
      location: lieu ? truncate(lieu, 255) : null,
      legislature,
      agendaPoints: agendaPoints.slice(0, 200).map((p) => truncate(p, 2000)),
      tags,
    },
  };
}
