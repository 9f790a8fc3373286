/**
 * RLS benchmark, with its baseline in the same run (tests never assert timings):
 *
 * (a) 1,000,000 contents rows across 1,000 tenants (1,000 each, written project by project as dbkit
 *     sync writes a course; BENCH_LAYOUT=scattered deals them round-robin; 1 in 1,000 published). One tenant
 *     reads, as `authenticated` through the CreatorOS policies, four shapes an API reads: one row by
 *     key, a page of 20, one whole project, and everything it can see without a WHERE; each against
 *     the same rows read as service_role (no RLS) with the equivalent WHERE. Twice: with the policies
 *     before issue 12 (the database copied and its last migration, 20261130140000_rls-caller-views,
 *     rolled back) and after. How the timings are taken: scripts/bench/rls-shapes.ts. The plan of
 *     each shape is printed. Then the same whole read through a naive policy (helper called per
 *     row, no index on the filtered column), to show what the rules prevent.
 * (b) dbkit rls-audit (the CLI, lints and drift, --no-matrix: without a map it would now infer one and
 *     run the matrix, which bench:rls-infer measures) on a schema of 200 RLS tables: wall time, target < 3 s.
 *
 *   npm run bench:rls                          # DATABASE_URL's server and an embedded PostgreSQL 17
 *   BENCH_SERVERS=embedded BENCH_ROWS=100000 BENCH_ROUNDS=10 npm run bench:rls   # a quick look
 *   BENCH_NAIVE=0                              # skip the naive policy (about a minute per server)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { acquireEmbedded, destroyEmbedded } from '../../src/embedded/cluster.ts';
import { resolveConfig } from '../../src/config.ts';
import { applyMigrations } from '../../src/commands/apply.ts';
import { rollbackMigrations } from '../../src/commands/rollback.ts';
import { quietReporter } from '../../src/output/terminal.ts';
import { median, urlFor, withAdmin } from './support.ts';
import { emptySamples, floorShape, measurePair, planOf, renderShapes, shapes, type ShapeResult, type Tenant } from './rls-shapes.ts';
import { quoteIdent } from '../../src/core/sql.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const TENANTS = 1_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const NAIVE_RUNS = 3;
const SERVERS = (process.env.BENCH_SERVERS ?? 'external,embedded').split(',');
/** clustered: a project's contents written together, as dbkit sync writes a course; scattered: round-robin over the projects. */
const LAYOUT = process.env.BENCH_LAYOUT === 'scattered' ? 'scattered' : 'clustered';
const LAST = '20261130140000_rls-caller-views';

const ms = (x: number) => `${x.toFixed(1)} ms`;
const config = (url: string) => resolveConfig({ cwd: ROOT, flags: { databaseUrl: url }, env: {}, dotenv: {}, file: null, fileName: null });

async function seed(url: string): Promise<void> {
  const applied = await applyMigrations(config(url), { dryRun: false, backup: false }, quietReporter());
  if (!applied.ok) throw new Error(`apply failed: ${applied.error?.message}`);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`INSERT INTO public.minds (id, slug, display_name, user_id)
      SELECT md5('m' || i)::uuid, 'mind-' || i, 'Mind ' || i, md5('u' || i)::uuid FROM generate_series(1, ${TENANTS}) i`);
    await c.query(`INSERT INTO public.content_projects (id, slug, name, creator_mind_id)
      SELECT md5('p' || i)::uuid, 'project-' || i, 'Project ' || i, md5('m' || i)::uuid FROM generate_series(1, ${TENANTS}) i`);
    await c.query(`INSERT INTO public.contents (project_id, slug, title, content_type, content, status)
      SELECT md5('p' || ${LAYOUT === 'clustered' ? `(1 + (i - 1) / ${Math.floor(ROWS / TENANTS)})` : `(1 + i % ${TENANTS})`})::uuid, 'c-' || i, 'Lesson ' || i, 'course_lesson', repeat('x', 200),
             CASE WHEN i % 1000 = 7 THEN 'published' ELSE 'draft' END
        FROM generate_series(1, ${ROWS}) i`);
    await c.query('VACUUM ANALYZE');
  } finally {
    await c.end();
  }
}

/** The read shapes on both states, interleaved: every round runs every shape on `before` and `after`, the order alternating. */
async function measureShapes(urls: { before: string; after: string }, tenant: Tenant): Promise<{ results: ShapeResult[]; plans: string[] }> {
  const clients = { before: new pg.Client({ connectionString: urls.before }), after: new pg.Client({ connectionString: urls.after }) };
  await clients.before.connect();
  await clients.after.connect();
  try {
    const all = [...shapes(tenant, Math.floor(ROWS / TENANTS)), floorShape(tenant)];
    const states = ['before', 'after'] as const;
    const results: ShapeResult[] = all.flatMap((shape) => states.map((state) => ({ shape, state, samples: emptySamples() })));
    const plans: string[] = [];
    for (const shape of all) for (const state of states) plans.push(`    ${shape.label}, ${state}:\n${await planOf(clients[state], tenant, shape)}`);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const shape of all) {
        const order = round % 2 === 0 ? states : [...states].reverse();
        for (const state of order) {
          const r = results.find((x) => x.shape.id === shape.id && x.state === state)!;
          await measurePair(clients[state], tenant, shape, r.samples, (round + states.indexOf(state)) % 2 === 0);
        }
      }
    }
    return { results, plans };
  } finally {
    await clients.before.end();
    await clients.after.end();
  }
}

/** Everything visible (count and widest title) through the shipped policies, then through a naive policy. */
async function naiveComparison(url: string, tenant: Tenant): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const read = 'SELECT count(*)::int AS n, max(length(title)) AS w FROM public.contents';
  const timedRead = async (runs: number) => {
    const times: number[] = [];
    for (let i = 0; i < runs; i += 1) {
      await c.query('BEGIN');
      await c.query('SET LOCAL ROLE authenticated');
      await c.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: tenant.userId, role: 'authenticated' })]);
      const started = performance.now();
      await c.query(read);
      times.push(performance.now() - started);
      await c.query('ROLLBACK');
    }
    return median(times);
  };
  try {
    await timedRead(1);
    const shipped = await timedRead(NAIVE_RUNS * 5);
    // The naive version: the helper called bare (once per row) and no index leading project_id.
    await c.query(`BEGIN;
      DROP POLICY contents_rw_by_project ON public.contents;
      CREATE POLICY contents_rw_by_project ON public.contents FOR ALL TO authenticated
        USING ((SELECT p.creator_mind_id FROM public.content_projects p WHERE p.id = project_id) = private.current_mind_id()
               OR (status = 'published' AND deleted_at IS NULL));
      ALTER TABLE public.contents DROP CONSTRAINT contents_project_id_slug_key;
      ALTER TABLE public.contents DROP CONSTRAINT contents_parent_same_project_fkey;
      ALTER TABLE public.contents DROP CONSTRAINT contents_project_id_id_key;
      DROP INDEX public.idx_contents_published_project;
      COMMIT; ANALYZE public.contents`);
    const naive = await timedRead(NAIVE_RUNS);
    return `    everything visible, counted (${read}): shipped policies ${ms(shipped)}; naive policy (bare current_mind_id() call, no index leading project_id) ${ms(naive)}, ${(naive / shipped).toFixed(0)}x`;
  } finally {
    await c.end();
  }
}

function auditTiming(url: string): string {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-policies-'));
  const cli = path.join(ROOT, 'bin', 'dbkit.js');
  const env = { ...process.env, NO_COLOR: '1', DATABASE_URL: '' };
  execFileSync(process.execPath, [cli, '--version'], { env }); // warm the file cache
  const times: number[] = [];
  let findings = -1;
  for (let i = 0; i < 3; i += 1) {
    const started = performance.now();
    let out = '';
    try {
      out = execFileSync(process.execPath, [cli, 'rls-audit', '--db', url, '--json', '--policies-dir', empty, '--no-matrix'], { env, encoding: 'utf8' });
    } catch (error) {
      out = (error as { stdout?: string }).stdout ?? '';
    }
    times.push(performance.now() - started);
    findings = (JSON.parse(out) as { findings: unknown[] }).findings.length;
  }
  rmSync(empty, { recursive: true, force: true });
  return `(b) dbkit rls-audit (CLI, 206 tables, lints + drift): median wall time ${ms(median(times))} (target < 3 s); ${findings} findings`;
}

async function benchServer(label: string, adminUrl: string): Promise<void> {
  const suffix = randomBytes(3).toString('hex');
  const names = { after: `bench_rls_after_${suffix}`, before: `bench_rls_before_${suffix}` };
  const urls = { after: urlFor(adminUrl, names.after), before: urlFor(adminUrl, names.before) };
  try {
    await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(names.after)}`));
    const version = await withAdmin(adminUrl, async (c) => (await c.query<{ v: string }>("SELECT split_part(current_setting('server_version'), ' ', 1) AS v")).rows[0]!.v);
    console.log(`\n== RLS benchmark on PostgreSQL ${version} (${label}), ${ROWS.toLocaleString('en')} contents rows (${LAYOUT}), ${TENANTS} tenants, ${ROUNDS} rounds`);
    let started = performance.now();
    await seed(urls.after);
    await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(names.before)} TEMPLATE ${quoteIdent(names.after)}`));
    const rolled = await rollbackMigrations(config(urls.before), { selection: { kind: 'to', migration: '20261130120000_same-tenant-references' }, backup: false, force: false, yes: true }, quietReporter());
    if (!rolled.ok || !rolled.migrations.some((m) => m.name === LAST && m.status === 'reverted')) throw new Error(`rollback of ${LAST} failed: ${rolled.error?.message}`);
    for (const url of Object.values(urls)) await withAdmin(url, (c) => c.query('ANALYZE'));
    console.log(`seeded, copied and rolled back in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const tenant = await withAdmin(urls.after, async (c) => {
      const { rows } = await c.query<Tenant>(`SELECT md5('u42')::uuid::text AS "userId", md5('m42')::uuid::text AS "mindId", md5('p42')::uuid::text AS "projectId",
        (SELECT slug FROM public.contents WHERE project_id = md5('p42')::uuid ORDER BY slug OFFSET ${Math.floor(ROWS / TENANTS / 2)} LIMIT 1) AS slug`);
      return rows[0]!;
    });
    started = performance.now();
    const { results, plans } = await measureShapes(urls, tenant);
    console.log(`\n(a) one tenant's reads: before = policies of 20251028120001 + 20261130120000, after = ${LAST} (${((performance.now() - started) / 1000).toFixed(0)} s; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
    console.log(renderShapes(results));
    console.log('\n    plans (as the tenant):');
    console.log(plans.join('\n'));
    if (process.env.BENCH_NAIVE !== '0') console.log(`\n${await naiveComparison(urls.after, tenant)}`);
    await withAdmin(urls.before, (c) => c.query(Array.from({ length: 200 }, (_, i) => auditTable(i)).join('\n')));
    console.log(auditTiming(urls.before));
  } finally {
    await withAdmin(adminUrl, async (c) => {
      for (const name of Object.values(names)) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });
  }
}

function auditTable(i: number): string {
  const tb = `bench_t${String(i).padStart(3, '0')}`;
  return `CREATE TABLE public.${tb} (id bigint PRIMARY KEY, owner_id uuid NOT NULL, team text, status text NOT NULL DEFAULT 'draft', created_at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX ON public.${tb} (owner_id); ALTER TABLE public.${tb} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
    GRANT SELECT, INSERT, UPDATE, DELETE ON public.${tb} TO authenticated;
    CREATE POLICY ${tb}_own ON public.${tb} FOR ALL TO authenticated USING (owner_id = (SELECT auth.uid())) WITH CHECK (owner_id = (SELECT auth.uid()));`;
}

async function main(): Promise<void> {
  console.log(`RLS benchmark: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the start (a shared machine: interleaved, medians)`);
  if (SERVERS.includes('external')) await benchServer('DATABASE_URL', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  if (SERVERS.includes('embedded')) {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-'));
    try {
      const lease = await acquireEmbedded(stateDir, { persistent: true });
      await lease.release();
      await benchServer('embedded', urlFor(lease.url, 'postgres'));
    } finally {
      await destroyEmbedded(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
}

await main();
