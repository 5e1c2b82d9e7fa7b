import { acteurRecord, organeRecord, reunionRecord, type AnRecords } from '@robian/plugin-assemblee-nationale';

/**
 * Test datasets built with the package's record builders (src/demo.ts: AN open-data records written
 * by the project, same structure as the real ones; uids in ranges the AN does not use).
 */

/** A committee, a group, two deputies and `count` réunions of that committee, one a day from 2 June 2025. */
export function dataset(count: number): AnRecords {
  const organes = [organeRecord('PO900001', 'COMPER', 'Commission des essais et des mesures', 'Essais'), organeRecord('PO900002', 'GP', 'Groupe des essais', 'ESS')];
  const acteurs = [acteurRecord('PA900001', 'Ada', 'Essai', { groupRef: 'PO900002' }), acteurRecord('PA900002', 'Bob', 'Mesure', { civ: 'M.' })];
  const reunions = Array.from({ length: count }, (_, i) => {
    const day = new Date(Date.UTC(2025, 5, 2) + i * 86_400_000).toISOString().slice(0, 10);
    return reunionRecord(`RUANR5L17S2025IDC9${String(i).padStart(5, '0')}`, {
      organeRef: 'PO900001',
      start: `${day}T09:30:00.000+02:00`,
      end: `${day}T11:00:00.000+02:00`,
      agenda: [i % 2 ? `audition de M. Témoin ${i} sur les “mesures” {test} \\ "quotes"` : `examen du rapport n° ${i}`],
      participants: ['PA900001', 'PA900002', 'PA999999'],
    });
  });
  return { organes, acteurs, reunions };
}
