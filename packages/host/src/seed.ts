import { CommissionSchema, DebateSchema, DeputySchema, slugify, type Debate, type EntityManager, type RobianKernel } from '@robian/core';

const SOURCE = 'demo';

const COMMISSIONS = [
  { externalId: 'DEMO-CLOIS', name: 'Commission des lois constitutionnelles, de la législation et de l’administration générale', shortName: 'Lois', kind: 'commission_permanente' },
  { externalId: 'DEMO-CFIN', name: 'Commission des finances, de l’économie générale et du contrôle budgétaire', shortName: 'Finances', kind: 'commission_permanente' },
  { externalId: 'DEMO-CAFSOC', name: 'Commission des affaires sociales', shortName: 'Affaires sociales', kind: 'commission_permanente' },
  { externalId: 'DEMO-CDD', name: 'Commission du développement durable et de l’aménagement du territoire', shortName: 'Développement durable', kind: 'commission_permanente' },
];

const DEPUTIES = [
  { externalId: 'DEMO-PA1', firstName: 'Élise', lastName: 'Martin', group: 'Groupe démonstration A', short: 'DEM-A' },
  { externalId: 'DEMO-PA2', firstName: 'Joël', lastName: 'Lefèvre', group: 'Groupe démonstration B', short: 'DEM-B' },
  { externalId: 'DEMO-PA3', firstName: 'Inès', lastName: 'Moreau', group: 'Groupe démonstration A', short: 'DEM-A' },
  { externalId: 'DEMO-PA4', firstName: 'François', lastName: 'Girard', group: 'Groupe démonstration C', short: 'DEM-C' },
  { externalId: 'DEMO-PA5', firstName: 'Chloé', lastName: 'Dubois', group: 'Groupe démonstration B', short: 'DEM-B' },
  { externalId: 'DEMO-PA6', firstName: 'Noël', lastName: 'Roussel', group: 'Groupe démonstration C', short: 'DEM-C' },
];

const DEBATES: {
  externalId: string;
  title: string;
  type: Debate['type'];
  status: Debate['status'];
  day: string;
  start: string;
  minutes: number;
  commission?: string;
  speakers: string[];
  agenda: string[];
  keywords: string[];
}[] = [
  { externalId: 'DEMO-S1', title: 'Séance publique : réforme des retraites (première lecture)', type: 'seance_publique', status: 'termine', day: '2025-06-03', start: '15:00', minutes: 210, speakers: ['DEMO-PA1', 'DEMO-PA2', 'DEMO-PA4'], agenda: ['Projet de loi portant réforme des retraites', 'Discussion générale'], keywords: ['retraites', 'sécurité sociale'] },
  { externalId: 'DEMO-S2', title: 'Questions au Gouvernement', type: 'question_gouvernement', status: 'termine', day: '2025-06-04', start: '15:00', minutes: 120, speakers: ['DEMO-PA3', 'DEMO-PA5', 'DEMO-PA6'], agenda: ['Questions au Gouvernement'], keywords: ['questions', 'gouvernement'] },
  { externalId: 'DEMO-S3', title: 'Séance publique : projet de loi de finances, seconde partie', type: 'seance_publique', status: 'termine', day: '2025-06-05', start: '21:30', minutes: 180, speakers: ['DEMO-PA2', 'DEMO-PA4'], agenda: ['Projet de loi de finances', 'Mission « Écologie, développement et mobilité durables »'], keywords: ['budget', 'finances'] },
  { externalId: 'DEMO-C1', title: 'Commission des lois : audition du ministre de l’Intérieur', type: 'audition', status: 'termine', day: '2025-06-04', start: '09:30', minutes: 95, commission: 'DEMO-CLOIS', speakers: ['DEMO-PA1', 'DEMO-PA3'], agenda: ['Audition du ministre de l’Intérieur'], keywords: ['sécurité', 'intérieur'] },
  { externalId: 'DEMO-C2', title: 'Commission des finances : examen des amendements', type: 'commission', status: 'termine', day: '2025-06-05', start: '09:00', minutes: 150, commission: 'DEMO-CFIN', speakers: ['DEMO-PA2', 'DEMO-PA5'], agenda: ['Examen des amendements au projet de loi de finances'], keywords: ['budget', 'amendements'] },
  { externalId: 'DEMO-C3', title: 'Commission des affaires sociales : hôpital et accès aux soins', type: 'commission', status: 'termine', day: '2025-06-10', start: '16:30', minutes: 120, commission: 'DEMO-CAFSOC', speakers: ['DEMO-PA3', 'DEMO-PA6'], agenda: ['Table ronde sur l’accès aux soins'], keywords: ['santé', 'hôpital'] },
  { externalId: 'DEMO-C4', title: 'Commission du développement durable : transition énergétique', type: 'audition', status: 'disponible', day: '2025-06-11', start: '10:00', minutes: 110, commission: 'DEMO-CDD', speakers: ['DEMO-PA4', 'DEMO-PA1'], agenda: ['Audition sur la transition énergétique'], keywords: ['énergie', 'climat'] },
  { externalId: 'DEMO-S4', title: 'Séance publique : protection de l’enfance', type: 'seance_publique', status: 'programme', day: '2026-12-02', start: '15:00', minutes: 240, speakers: [], agenda: ['Proposition de loi relative à la protection de l’enfance'], keywords: ['enfance'] },
];

/** Demo committees, deputies and debates so that a fresh embedded start shows a catalogue. Idempotent. */
export async function seedDemo(kernel: RobianKernel): Promise<{ commissions: number; deputies: number; debates: number }> {
  const em = kernel.orm.em.fork() as unknown as EntityManager;
  const commissions = new Map<string, unknown>();
  for (const c of COMMISSIONS) {
    const existing = await em.findOne(CommissionSchema, { source: SOURCE, externalId: c.externalId });
    const entity = existing ?? em.create(CommissionSchema, { source: SOURCE, externalId: c.externalId, name: c.name, slug: slugify(c.shortName) } as never);
    Object.assign(entity, { name: c.name, shortName: c.shortName, slug: slugify(c.shortName), kind: c.kind });
    commissions.set(c.externalId, entity);
  }
  const deputies = new Map<string, unknown>();
  for (const d of DEPUTIES) {
    const fullName = `${d.firstName} ${d.lastName}`;
    const existing = await em.findOne(DeputySchema, { source: SOURCE, externalId: d.externalId });
    const entity =
      existing ??
      em.create(DeputySchema, { source: SOURCE, externalId: d.externalId, firstName: d.firstName, lastName: d.lastName, fullName, slug: slugify(fullName) } as never);
    Object.assign(entity, { firstName: d.firstName, lastName: d.lastName, fullName, slug: slugify(fullName), politicalGroup: d.group, politicalGroupShort: d.short });
    deputies.set(d.externalId, entity);
  }
  for (const d of DEBATES) {
    const date = new Date(`${d.day}T${d.start}:00+02:00`);
    const existing = (await em.findOne(DebateSchema, { source: SOURCE, externalId: d.externalId }, { populate: ['speakers'] as never })) as Debate | null;
    const debate = (existing ?? em.create(DebateSchema, { source: SOURCE, externalId: d.externalId, title: d.title, date } as never)) as Debate;
    Object.assign(debate, {
      title: d.title,
      type: d.type,
      status: d.status,
      date,
      startTime: date,
      endTime: new Date(date.getTime() + d.minutes * 60000),
      durationMinutes: d.minutes,
      agendaPoints: d.agenda,
      keywords: d.keywords,
      legislature: 17,
      commission: d.commission ? commissions.get(d.commission) : null,
    });
    debate.speakers.set(d.speakers.map((s) => deputies.get(s)) as never);
  }
  await em.flush();
  await kernel.cache.namespace('debates', kernel.config.cacheTtl.debates).invalidate();
  return { commissions: COMMISSIONS.length, deputies: DEPUTIES.length, debates: DEBATES.length };
}
