// Benchmark of GET /api/search on 100,000 generated debates with realistic French titles, against a
// plain substring scan (`ILIKE '%q%'` on title and description) over the same rows, in the same run.
//
//   node --conditions=robian-source bench/search.ts [--debates 100000] [--runs 25]
//        [--database-url postgresql://postgres@127.0.0.1:5432/test]   (a scratch database is created there)
//        [--keep]   (keep the scratch database or SQLite folder, to look at its plans)
//        [--reuse postgresql://…/robian_t_…]   (measure on a database a --keep run left: no seeding, not dropped)
//        [--into postgresql://…/an_empty_database]   (seed there instead of a scratch database, and keep it)
//
// Without --database-url it runs on SQLite (a temporary file). In the main table caches are off
// (CACHE_TTL_SEARCH=0), so every request measures what a cache miss costs: the full HTTP round trip on 127.0.0.1, the index
// query, the facet counts, loading the page's debates and the highlights. The baseline is the plain
// scan a catalogue without an index does for the same words: `ILIKE '%q%'` (SQLite: LIKE, which ignores
// ASCII case) on title and description, the page of 20 by date and the total, as two SQL statements on
// the same connection pool (no HTTP, no facets, no loading: the ratio flatters the baseline).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKernel, createLogger, loadConfig, slugify, type EntityManager } from '@robian/core';
import { createRobian } from '@robian/host';
import { searchPlugin } from '@robian/plugin-search';
import { createTestDatabase } from '@robian/test-support';

const { values } = parseArgs({
  options: {
    debates: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '25' },
    'database-url': { type: 'string' },
    keep: { type: 'boolean', default: false },
    reuse: { type: 'string' },
    into: { type: 'string' },
  },
});
const DEBATES = Number(values.debates);
const RUNS = Number(values.runs);
const dataDir = mkdtempSync(join(tmpdir(), 'robian-bench-search-'));
const existing = values.reuse ?? values.into;
const scratch = existing
  ? { url: existing, drop: async () => {} }
  : values['database-url']
    ? await createTestDatabase(values['database-url'])
    : undefined;
const pg = scratch !== undefined;
const env: Record<string, string> = {
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  ADMIN_API_KEY: 'b'.repeat(40),
  SECRET_KEY: 's'.repeat(40),
  CACHE_TTL_SEARCH: '0',
  CACHE_TTL_DEBATES: '0',
  // the limiter (120 requests a minute per client by default) would answer 429 to the bench's loop
  RATE_LIMIT_PER_MINUTE: '0',
  ...(scratch ? { DATABASE_URL: scratch.url } : {}),
};

// --- a deterministic generator of French parliamentary debates --------------------------------------

let rngState = 4242;
const random = () => {
  rngState = (rngState * 1103515245 + 12345) % 2 ** 31;
  return rngState / 2 ** 31;
};
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

const COMMISSIONS = [
  ['PO419604', 'Commission des affaires culturelles et de l’éducation', 'Affaires culturelles'],
  ['PO419610', 'Commission des affaires économiques', 'Affaires économiques'],
  ['PO59047', 'Commission des affaires étrangères', 'Affaires étrangères'],
  ['PO420120', 'Commission des affaires sociales', 'Affaires sociales'],
  ['PO59046', 'Commission de la défense nationale et des forces armées', 'Défense'],
  ['PO419865', 'Commission du développement durable et de l’aménagement du territoire', 'Développement durable'],
  ['PO59048', 'Commission des finances, de l’économie générale et du contrôle budgétaire', 'Finances'],
  ['PO59051', 'Commission des lois constitutionnelles, de la législation et de l’administration générale de la République', 'Lois'],
  ['PO800001', 'Commission d’enquête sur la souveraineté énergétique', 'CE souveraineté énergétique'],
  ['PO800002', 'Commission d’enquête sur les dysfonctionnements de l’aide sociale à l’enfance', 'CE aide sociale à l’enfance'],
] as const;
const TOPICS = [
  'la réforme des retraites', 'l’assurance chômage', 'la transition énergétique', 'le logement social', 'la sécurité intérieure', 'l’hôpital public',
  'l’école inclusive', 'la fin de vie', 'l’agriculture biologique', 'les finances publiques', 'la dette publique', 'le pouvoir d’achat',
  'l’immigration et l’intégration', 'la lutte contre le terrorisme', 'la protection de l’enfance', 'les déserts médicaux', 'la filière nucléaire',
  'les énergies renouvelables', 'la souveraineté alimentaire', 'l’intelligence artificielle', 'la cybersécurité', 'la justice des mineurs',
  'la police municipale', 'les collectivités territoriales', 'la décentralisation', 'le logement étudiant', 'l’enseignement supérieur',
  'la recherche publique', 'l’inclusion des personnes handicapées', 'la dépendance des personnes âgées', 'les violences faites aux femmes',
  'l’égalité professionnelle', 'la laïcité', 'la liberté de la presse', 'l’audiovisuel public', 'les Jeux olympiques et paralympiques',
  'la politique agricole commune', 'la pêche maritime', 'la forêt française', 'la gestion de l’eau', 'le transport ferroviaire', 'le fret fluvial',
  'la sécurité routière', 'les outre-mer', 'la Nouvelle-Calédonie', 'la défense européenne', 'l’aide publique au développement',
  'le soutien à l’Ukraine', 'la loi de programmation militaire', 'la fraude sociale', 'la fraude fiscale', 'l’impôt sur le revenu',
  'la taxe foncière', 'les retraites agricoles', 'le financement de la sécurité sociale', 'la santé mentale', 'la vaccination',
  'les urgences hospitalières', 'la petite enfance', 'le service national universel', 'la vie chère outre-mer', 'les zones à faibles émissions',
  'le bouclier tarifaire', 'la réforme du lycée professionnel', 'la formation des enseignants', 'les mines et les métaux critiques',
];
const WHO = [
  'M. le ministre de l’Économie', 'Mme la ministre du Travail', 'M. le ministre de l’Intérieur', 'Mme la ministre de la Santé', 'du préfet de police de Paris',
  'du gouverneur de la Banque de France', 'de la Défenseure des droits', 'du Premier président de la Cour des comptes', 'de représentants des organisations syndicales',
  'du directeur général de la santé', 'du chef d’état-major des armées', 'de la présidente de l’Autorité de la concurrence', 'd’économistes', 'de chercheurs du CNRS',
];
const FIRST = ['Élise', 'Joël', 'Inès', 'François', 'Chloé', 'Noël', 'Hélène', 'Jérôme', 'Zoé', 'Benoît', 'Maëlle', 'Loïc', 'Anaïs', 'Grégoire', 'Céline', 'Hervé', 'Amélie', 'Raphaël', 'Léa', 'Stéphane', 'Aurélie', 'Frédéric', 'Nadège', 'Sébastien'];
const LAST = ['Martin', 'Lefèvre', 'Moreau', 'Girard', 'Dubois', 'Roussel', 'Côté', 'Lemaître', 'Bérenger', 'Dupont', 'Mercier', 'Faure', 'Chevalier', 'Gauthier', 'Perrin', 'Rémy', 'Boucher', 'Lacroix', 'Brun', 'Fontaine', 'Rivière', 'Benoît', 'Caron', 'Marchand', 'Dufresne', 'Barbier'];
const GROUPS = ['RE', 'RN', 'LFI', 'SOC', 'LR', 'DEM', 'HOR', 'ECO', 'GDR', 'LIOT'];
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function generateDebate(i: number) {
  const topic = pick(TOPICS);
  const roll = random();
  let type: string;
  let title: string;
  let commission: number | null = null;
  if (roll < 0.3) {
    type = 'seance_publique';
    title = pick([
      `Séance publique : projet de loi relatif à ${topic}`,
      `Séance publique : proposition de loi visant à améliorer ${topic}`,
      `Discussion générale sur ${topic}`,
      `Projet de loi de finances pour ${2018 + (i % 9)} : ${topic}`,
      `Débat sur ${topic}`,
    ]);
  } else if (roll < 0.4) {
    type = 'question_gouvernement';
    title = random() < 0.5 ? 'Questions au Gouvernement' : `Questions au Gouvernement : ${topic}`;
  } else if (roll < 0.75) {
    type = 'commission';
    commission = Math.floor(random() * COMMISSIONS.length);
    title = pick([
      `${COMMISSIONS[commission]![2]} : examen du rapport sur ${topic}`,
      `${COMMISSIONS[commission]![2]} : examen des amendements sur ${topic}`,
      `Réunion de la commission : ${topic}`,
      `Table ronde sur ${topic}`,
    ]);
  } else if (roll < 0.95) {
    type = 'audition';
    commission = Math.floor(random() * COMMISSIONS.length);
    title = `Audition ${pick(WHO)} sur ${topic}`;
  } else {
    type = 'autre';
    title = `Mission d’information sur ${topic}`;
  }
  const date = new Date(Date.UTC(2017, 6, 1) + Math.floor(random() * 9 * 365) * 86_400_000 + (9 + Math.floor(random() * 10)) * 3_600_000);
  const words = topic.replace(/^(la |le |les |l’)/, '').split(/\s+/);
  return {
    title,
    type,
    commission,
    date,
    description: `Compte rendu de la réunion consacrée à ${topic}. ${pick(['Les débats ont porté sur le financement.', 'Les rapporteurs ont présenté leurs conclusions.', 'Plusieurs amendements ont été adoptés.', 'La discussion se poursuivra lors d’une prochaine séance.'])}`,
    agenda: [cap(topic), pick(['Examen du texte', 'Discussion des articles', 'Vote sur l’ensemble', 'Présentation du rapport'])],
    keywords: words.filter((w) => w.length > 3).slice(0, 3),
    speakers: Array.from({ length: Math.floor(random() * 4) }, () => Math.floor(random() * 577)),
  };
}

async function seedDatabase(): Promise<{ seconds: number }> {
  const kernel = createKernel({ config: loadConfig(env), logger: createLogger({ level: 'warn' }), defaultMetrics: false, plugins: [searchPlugin] });
  await kernel.start();
  const em = kernel.orm.em.fork() as unknown as EntityManager;
  const conn = em.getConnection();
  const at = (d: Date) => (pg ? d.toISOString() : d.getTime());
  const now = at(new Date());
  const yes = pg ? true : 1;
  const no = pg ? false : 0;
  for (const [uid, name, short] of COMMISSIONS) {
    await conn.execute(
      'insert into commission (source, external_id, name, short_name, slug, kind, active, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ['bench', uid, name, short, slugify(short), 'COMPER', yes, now, now],
    );
  }
  const deputyRows: string[] = [];
  const deputyParams: unknown[] = [];
  for (let i = 0; i < 577; i++) {
    const first = FIRST[i % FIRST.length]!;
    const last = `${LAST[Math.floor(i / FIRST.length) % LAST.length]}${i >= FIRST.length * LAST.length ? `-${i}` : ''}`;
    deputyRows.push('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    deputyParams.push('bench', `PA${100000 + i}`, first, last, `${first} ${last}`, slugify(`${first} ${last}`), GROUPS[i % GROUPS.length], GROUPS[i % GROUPS.length], yes, now, now);
  }
  await conn.execute(
    `insert into deputy (source, external_id, first_name, last_name, full_name, slug, political_group, political_group_short, active, created_at, updated_at) values ${deputyRows.join(', ')}`,
    deputyParams,
  );
  const commissionIds = (await conn.execute<{ id: number; external_id: string }[]>('select id, external_id from commission')).reduce(
    (m, r) => m.set(r.external_id, Number(r.id)),
    new Map<string, number>(),
  );
  const deputyIds = (await conn.execute<{ id: number }[]>('select id from deputy order by id')).map((r) => Number(r.id));
  const t0 = performance.now();
  const batch = 500;
  for (let start = 0; start < DEBATES; start += batch) {
    const rows: string[] = [];
    const params: unknown[] = [];
    const speakers: number[][] = [];
    for (let i = start; i < Math.min(DEBATES, start + batch); i++) {
      const d = generateDebate(i);
      rows.push("('bench', ?, ?, ?, ?, 'termine', ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)");
      params.push(
        `RUANR5L17S${String(i).padStart(7, '0')}`,
        d.title,
        d.description,
        d.type,
        at(d.date),
        90,
        JSON.stringify(d.agenda),
        JSON.stringify(d.keywords),
        JSON.stringify([]),
        d.commission === null ? null : commissionIds.get(COMMISSIONS[d.commission]![0]),
        random() < 0.3 ? yes : no,
        now,
        now,
      );
      speakers.push([...new Set(d.speakers)]);
    }
    // one transaction per batch, debates then their speakers, as the Assemblée nationale importer writes
    await em.fork().transactional(async (tx) => {
      const c = tx.getConnection();
      const ctx = tx.getTransactionContext();
      const inserted = await c.execute<{ id: number }[]>(
        `insert into debate (source, external_id, title, description, type, status, date, duration_minutes, agenda_points, keywords, tags, commission_id, has_audio, view_count, created_at, updated_at) values ${rows.join(', ')} returning id`,
        params,
        'all',
        ctx,
      );
      const pairs: string[] = [];
      const pairParams: unknown[] = [];
      inserted.forEach((row, k) => {
        for (const s of speakers[k]!) {
          pairs.push('(?, ?)');
          pairParams.push(Number(row.id), deputyIds[s]);
        }
      });
      if (pairs.length) await c.execute(`insert into debate_speaker (debate_id, deputy_id) values ${pairs.join(', ')}`, pairParams, 'run', ctx);
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  await conn.execute(pg ? 'vacuum analyze' : 'analyze');
  const status = await kernel.services.get('search').status();
  if (status.debates !== DEBATES || status.indexed !== DEBATES) throw new Error(`seeded ${status.debates} debates, indexed ${status.indexed}`);
  await kernel.stop();
  return { seconds };
}

// --- the measurement ------------------------------------------------------------------------------

const QUERIES: { label: string; q: string; extra?: string }[] = [
  { label: 'retraites', q: 'retraites' },
  { label: 'réforme des retraites', q: 'réforme des retraites' },
  { label: '"réforme des retraites" (phrase)', q: '"réforme des retraites"' },
  { label: 'assurance chômage', q: 'assurance chômage' },
  { label: 'transition énergétique', q: 'transition energetique' },
  { label: 'hôpital', q: 'hopital' },
  { label: 'logement social', q: 'logement social' },
  { label: 'sécurité intérieure', q: 'sécurité intérieure' },
  { label: 'fin de vie', q: 'fin de vie' },
  { label: 'nucléaire', q: 'nucléaire' },
  { label: '"ré" (2 letters typed: a whole word)', q: 'ré' },
  { label: 'loi de programmation militaire', q: 'loi de programmation militaire' },
  { label: 'audition ministre (broad)', q: 'audition ministre' },
  { label: 'commission (very broad)', q: 'commission' },
  { label: 'Questions au Gouvernement (broad)', q: 'questions au gouvernement' },
  { label: 'prefix "retr" (typing)', q: 'retr' },
  { label: 'prefix "transition éner" (typing)', q: 'transition éner' },
  { label: 'deputy name "Lemaître"', q: 'Lemaître' },
  { label: 'retraites + type + date filters', q: 'retraites', extra: '&type=commission&date_start=2022-01-01' },
  { label: 'énergie OR climat -nucléaire', q: 'énergie OR renouvelables -nucléaire' },
];

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function measure(): Promise<void> {
  const robian = createRobian({ config: loadConfig(env), plugins: [searchPlugin], defaultMetrics: false, requestLogging: false });
  const server = await robian.listen(0, '127.0.0.1');
  const { port } = server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  const conn = (robian.kernel.orm.em.fork() as unknown as EntityManager).getConnection();
  const like = pg ? 'ilike' : 'like';
  const where = `(title ${like} ? or description ${like} ?)`;
  const all: number[] = [];
  const allBaseline: number[] = [];
  const rows: string[] = [];
  for (const { label, q, extra } of QUERIES) {
    const url = `${base}/api/search?q=${encodeURIComponent(q)}&per_page=20${extra ?? ''}`;
    const pattern = `%${q.replace(/["%_\\]/g, '').toLowerCase()}%`;
    const scan = async () => {
      const t = performance.now();
      await conn.execute(`select id from debate where ${where} order by date desc, id desc limit 20`, [pattern, pattern]);
      await conn.execute(`select count(*) as n from debate where ${where}`, [pattern, pattern]);
      return performance.now() - t;
    };
    const timed = async (target: string) => {
      const t = performance.now();
      const res = await fetch(target);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${target} → ${res.status}`);
      return performance.now() - t;
    };
    let total = 0;
    for (let i = 0; i < 2; i++) {
      total = ((await (await fetch(url)).json()) as { total: number }).total; // warm-up
      await scan();
    }
    const times: number[] = [];
    const baseline: number[] = [];
    // the search's runs in a row, then the scan's: interleaved, every search ran right after a
    // 150–350 ms sequential scan of the whole debate table, which left it the CPU caches and the
    // connections of a different workload (2.9 ms instead of 1.1 ms for a query with no hit)
    for (let i = 0; i < RUNS; i++) times.push(await timed(url));
    for (let i = 0; i < RUNS; i++) baseline.push(await scan());
    times.sort((a, b) => a - b);
    baseline.sort((a, b) => a - b);
    all.push(...times);
    allBaseline.push(...baseline);
    rows.push(
      `| ${label} | ${total} | ${percentile(times, 50).toFixed(1)} | ${percentile(times, 95).toFixed(1)} | ${percentile(times, 99).toFixed(1)} | ${percentile(baseline, 50).toFixed(1)} | ${(percentile(baseline, 50) / percentile(times, 50)).toFixed(1)}× |`,
    );
  }
  all.sort((a, b) => a - b);
  allBaseline.sort((a, b) => a - b);
  console.log(`\n### ${pg ? 'PostgreSQL' : 'SQLite'}: ${DEBATES.toLocaleString('en')} debates, ${RUNS} runs per query, caches off\n`);
  console.log('| query | hits | p50 ms | p95 ms | p99 ms | ILIKE scan p50 ms | scan ÷ search |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log(
    `| **all ${QUERIES.length} queries** | | **${percentile(all, 50).toFixed(1)}** | **${percentile(all, 95).toFixed(1)}** | **${percentile(all, 99).toFixed(1)}** | **${percentile(allBaseline, 50).toFixed(1)}** (p95 ${percentile(allBaseline, 95).toFixed(1)}) | **${(percentile(allBaseline, 50) / percentile(all, 50)).toFixed(1)}×** |`,
  );
  await robian.close();
}

/** The same queries with the search cache on (memory): what a repeated query costs. */
async function measureCached(): Promise<void> {
  const robian = createRobian({ config: loadConfig({ ...env, CACHE_TTL_SEARCH: '1800' }), plugins: [searchPlugin], defaultMetrics: false, requestLogging: false });
  const server = await robian.listen(0, '127.0.0.1');
  const { port } = server.address() as { port: number };
  const all: number[] = [];
  for (const { q, extra } of QUERIES) {
    const url = `http://127.0.0.1:${port}/api/search?q=${encodeURIComponent(q)}&per_page=20${extra ?? ''}`;
    await (await fetch(url)).arrayBuffer(); // the miss that fills the cache
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      await (await fetch(url)).arrayBuffer();
      all.push(performance.now() - t);
    }
  }
  all.sort((a, b) => a - b);
  console.log(
    `\nWith the search cache on (CACHE_TTL_SEARCH=1800, memory), repeated queries: p50 ${percentile(all, 50).toFixed(1)} ms, p95 ${percentile(all, 95).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms over ${all.length} requests.`,
  );
  await robian.close();
}

try {
  if (values.reuse) console.log(`reusing the ${DEBATES.toLocaleString('en')} debates already in ${values.reuse} (no seeding)`);
  else {
    console.log(`seeding ${DEBATES.toLocaleString('en')} debates on ${pg ? 'PostgreSQL' : 'SQLite'} (the triggers index them as they are written)…`);
    const { seconds } = await seedDatabase();
    console.log(`seeded and indexed in ${seconds.toFixed(1)} s (${Math.round(DEBATES / seconds).toLocaleString('en')} debates/s)`);
  }
  await measure();
  await measureCached();
} finally {
  if (values.keep || existing) console.log(`kept ${scratch ? scratch.url : dataDir}`);
  else {
    rmSync(dataDir, { recursive: true, force: true });
    await scratch?.drop();
  }
}
