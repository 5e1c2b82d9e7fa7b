/**
 * AN open-data records written by the project, in the structure of the real datasets (AMO organes
 * and acteurs, Agenda réunions). Names and texts are made up; uids use a range the AN does not
 * (PO9…, PA9…, RU…IDC9…) so that they never collide with the real samples.
 */

export function organe(uid: string, codeType: string, libelle: string, libelleAbrege: string): Record<string, unknown> {
  return {
    '@xmlns': 'http://schemas.assemblee-nationale.fr/referentiel',
    '@xsi:type': codeType === 'GP' ? 'GroupePolitique_type' : 'OrganeParlementaire_Type',
    uid,
    codeType,
    libelle,
    libelleEdition: `de ${libelle.toLowerCase()}`,
    libelleAbrege,
    libelleAbrev: libelleAbrege.toUpperCase().replace(/\W+/g, '').slice(0, 10),
    viMoDe: { dateDebut: '2024-07-01', dateAgrement: null, dateFin: null },
    organeParent: null,
    legislature: '17',
  };
}

export function acteur(uid: string, prenom: string, nom: string, groupRef?: string): Record<string, unknown> {
  const mandat = (typeOrgane: string, organeRef: string, codeQualite: string) => ({
    '@xsi:type': 'MandatSimple_Type',
    uid: `PM${uid.slice(2)}${typeOrgane}`,
    acteurRef: uid,
    legislature: '17',
    typeOrgane,
    dateDebut: '2024-07-01',
    dateFin: null,
    infosQualite: { codeQualite, libQualite: codeQualite },
    organes: { organeRef },
  });
  const mandats = [mandat('ASSEMBLEE', 'PO838901', 'membre'), ...(groupRef ? [mandat('GP', groupRef, 'Membre')] : [])];
  return {
    uid: { '@xsi:type': 'IdActeur_type', '#text': uid },
    etatCivil: { ident: { civ: 'Mme', prenom, nom, alpha: nom, trigramme: 'XXX' }, dateDeces: null },
    // the AN writes a single mandat as an object, several as an array
    mandats: { mandat: mandats.length === 1 ? mandats[0] : mandats },
  };
}

export function reunion(uid: string, options: { organeRef: string; start: string; end?: string; etat?: string; agenda: string[]; participants?: string[] }): Record<string, unknown> {
  return {
    '@xsi:type': 'reunionCommission_type',
    uid,
    timeStampDebut: options.start,
    ...(options.end ? { timeStampFin: options.end } : {}),
    lieu: { lieuRef: null, libelleLong: 'Salle 9999 – Palais Bourbon' },
    cycleDeVie: { etat: options.etat ?? 'Confirmé', chrono: { creation: '2025-01-01T00:00:00.000+01:00', cloture: null } },
    organeReuniRef: options.organeRef,
    participants: options.participants
      ? { participantsInternes: { participantInterne: options.participants.map((acteurRef) => ({ acteurRef, presence: 'présent' })) }, personnesAuditionnees: null }
      : null,
    captationVideo: 'true',
    ODJ: {
      convocationODJ: null,
      resumeODJ: { item: options.agenda.map((a) => `–  ${a}`).join('\r') },
      pointsODJ: null,
    },
  };
}

/** A committee, a group, two deputies and `count` réunions of that committee, one a day from 2 June 2025. */
export function dataset(count: number): { organes: Record<string, unknown>[]; acteurs: Record<string, unknown>[]; reunions: Record<string, unknown>[] } {
  const organes = [organe('PO900001', 'COMPER', 'Commission des essais et des mesures', 'Essais'), organe('PO900002', 'GP', 'Groupe des essais', 'ESS')];
  const acteurs = [acteur('PA900001', 'Ada', 'Essai', 'PO900002'), acteur('PA900002', 'Bob', 'Mesure')];
  const reunions = Array.from({ length: count }, (_, i) => {
    const day = new Date(Date.UTC(2025, 5, 2) + i * 86_400_000).toISOString().slice(0, 10);
    return reunion(`RUANR5L17S2025IDC9${String(i).padStart(5, '0')}`, {
      organeRef: 'PO900001',
      start: `${day}T09:30:00.000+02:00`,
      end: `${day}T11:00:00.000+02:00`,
      agenda: [i % 2 ? `audition de M. Témoin ${i} sur les “mesures” {test} \\ "quotes"` : `examen du rapport n° ${i}`],
      participants: ['PA900001', 'PA900002', 'PA999999'],
    });
  });
  return { organes, acteurs, reunions };
}
