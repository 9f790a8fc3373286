/**
 * RLS benchmark, with its baseline in the same run (tests never assert timings):
 *
 * (a) 1,000,000 contents rows across 1,000 tenants. One tenant reads its contents as
 *     `authenticated` through the CreatorOS policies, against the same rows read as service_role
 *     (no RLS) with the policy's condition written out as a WHERE clause: median ratio, target
 *     <= 1.2x. Then the same read through a naive policy (helper called per row, no index on the
 *     filtered column), to show what the rules prevent.
 * (b) dbkit rls-audit (the CLI, lints and drift) on a schema of 200 RLS tables: wall time, target < 3 s.
 *
 *   npm run bench:rls                          # on DATABASE_URL, else an embedded cluster in a temp dir
 *   BENCH_ROWS=100000 npm run bench:rls        # smaller, for a quick look
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
import { quietReporter } from '../../src/output/terminal.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const TENANTS = 1_000;
const RUNS = 15;
const NAIVE_RUNS = 3;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function timed(client: pg.Client, runs: number, sql: string, values: unknown[] = []): Promise<{ median: number; rows: unknown[] }> {
  let rows: unknown[] = [];
  await client.query(sql, values); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    rows = (await client.query(sql, values)).rows;
    times.push(performance.now() - t);
  }
  return { median: median(times), rows };
}

async function asTenant(client: pg.Client, userId: string, fn: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL ROLE authenticated');
    await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: userId, role: 'authenticated' })]);
    await fn();
  } finally {
    await client.query('ROLLBACK');
  }
}

async function main(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL ?? null;
  let stateDir: string | null = null;
  if (!adminUrl) {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-'));
    const lease = await acquireEmbedded(stateDir, { persistent: true });
    await lease.release();
    const u = new URL(lease.url);
    u.pathname = '/postgres';
    adminUrl = u.toString();
  }
  const name = `dbkit_bench_rls_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    const server = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    console.log(`RLS benchmark on PostgreSQL ${server.split(' ')[0]} (${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded'}), ${ROWS.toLocaleString('en')} contents rows, ${TENANTS} tenants\n`);
    const config = resolveConfig({ cwd: ROOT, flags: { databaseUrl: url.toString() }, env: {}, dotenv: {}, file: null, fileName: null });
    const applied = await applyMigrations(config, { dryRun: false, backup: false }, quietReporter());
    if (!applied.ok) throw new Error(`apply failed: ${applied.error?.message}`);
    await client.connect();

    let t = performance.now();
    await client.query(`INSERT INTO public.minds (id, slug, display_name, user_id)
      SELECT md5('m' || i)::uuid, 'mind-' || i, 'Mind ' || i, md5('u' || i)::uuid FROM generate_series(1, ${TENANTS}) i`);
    await client.query(`INSERT INTO public.content_projects (id, slug, name, creator_mind_id)
      SELECT md5('p' || i)::uuid, 'project-' || i, 'Project ' || i, md5('m' || i)::uuid FROM generate_series(1, ${TENANTS}) i`);
    await client.query(`INSERT INTO public.contents (project_id, slug, title, content_type, content)
      SELECT md5('p' || (1 + i % ${TENANTS}))::uuid, 'c-' || i, 'Lesson ' || i, 'course_lesson', repeat('x', 200) FROM generate_series(1, ${ROWS}) i`);
    await client.query('ANALYZE');
    console.log(`seeded in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);

    const tenant = 42;
    const userId = (await client.query<{ u: string }>(`SELECT md5('u' || ${tenant})::uuid::text AS u`)).rows[0]!.u;
    const mindId = (await client.query<{ m: string }>(`SELECT md5('m' || ${tenant})::uuid::text AS m`)).rows[0]!.m;
    const read = 'SELECT count(*)::int AS n, max(length(title)) AS w FROM public.contents';
    // the contents policy's USING, written out with the caller's mind as a literal
    const equivalent = `${read} WHERE project_id = ANY (ARRAY(SELECT p.id FROM public.content_projects p WHERE p.creator_mind_id = $1)) OR (status = 'published' AND deleted_at IS NULL)`;

    const baseline = await timed(client, RUNS, equivalent, [mindId]);
    let rls = { median: 0, rows: [] as unknown[] };
    await asTenant(client, userId, async () => {
      rls = await timed(client, RUNS, read);
    });
    const same = JSON.stringify(rls.rows) === JSON.stringify(baseline.rows);
    console.log('(a) one tenant reads its contents');
    console.log(`    service_role + equivalent WHERE   ${ms(baseline.median)}   ${JSON.stringify(baseline.rows[0])}`);
    console.log(`    authenticated through RLS         ${ms(rls.median)}   ${JSON.stringify(rls.rows[0])}${same ? '' : '   (ROWS DIFFER!)'}`);
    console.log(`    ratio RLS / baseline              ${(rls.median / baseline.median).toFixed(2)}x   (target <= 1.2x)`);

    // The naive version: the helper called bare (once per row) and no index leading project_id.
    await client.query(`BEGIN;
      DROP POLICY contents_rw_by_project ON public.contents;
      CREATE POLICY contents_rw_by_project ON public.contents FOR ALL TO authenticated
        USING ((SELECT p.creator_mind_id FROM public.content_projects p WHERE p.id = project_id) = private.current_mind_id()
               OR (status = 'published' AND deleted_at IS NULL));
      ALTER TABLE public.contents DROP CONSTRAINT contents_project_id_slug_key;
      COMMIT; ANALYZE public.contents`);
    let naive = { median: 0, rows: [] as unknown[] };
    await asTenant(client, userId, async () => {
      naive = await timed(client, NAIVE_RUNS, read);
    });
    const naiveBaseline = await timed(client, RUNS, equivalent, [mindId]);
    console.log(`    naive policy (bare call, no index) ${ms(naive.median)}   ${JSON.stringify(naive.rows[0])}`);
    console.log(`    ratio naive / baseline (same table without the index: ${ms(naiveBaseline.median)})   ${(naive.median / naiveBaseline.median).toFixed(1)}x; naive / rule-abiding RLS ${(naive.median / rls.median).toFixed(0)}x\n`);

    // (b) rls-audit on a schema of 200 tables
    const tables = Array.from({ length: 200 }, (_, i) => `bench_t${String(i).padStart(3, '0')}`);
    await client.query(tables.map((tb) => `CREATE TABLE public.${tb} (id bigint PRIMARY KEY, owner_id uuid NOT NULL, team text, status text NOT NULL DEFAULT 'draft', created_at timestamptz NOT NULL DEFAULT now());
      CREATE INDEX ON public.${tb} (owner_id); ALTER TABLE public.${tb} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
      GRANT SELECT, INSERT, UPDATE, DELETE ON public.${tb} TO authenticated;
      CREATE POLICY ${tb}_own ON public.${tb} FOR ALL TO authenticated USING (owner_id = (SELECT auth.uid())) WITH CHECK (owner_id = (SELECT auth.uid()));`).join('\n'));
    const empty = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-policies-'));
    const cli = path.join(ROOT, 'bin', 'dbkit.js');
    const env = { ...process.env, NO_COLOR: '1', DATABASE_URL: '' };
    execFileSync(process.execPath, [cli, '--version'], { env }); // warm the file cache
    const times: number[] = [];
    let findings = -1;
    for (let i = 0; i < 3; i += 1) {
      t = performance.now();
      let out = '';
      try {
        out = execFileSync(process.execPath, [cli, 'rls-audit', '--db', url.toString(), '--json', '--policies-dir', empty], { env, encoding: 'utf8' });
      } catch (error) {
        out = (error as { stdout?: string }).stdout ?? '';
      }
      times.push(performance.now() - t);
      findings = (JSON.parse(out) as { findings: unknown[] }).findings.length;
    }
    rmSync(empty, { recursive: true, force: true });
    const start = performance.now();
    execFileSync(process.execPath, [cli, '--help'], { env });
    const startup = performance.now() - start;
    console.log(`(b) dbkit rls-audit (CLI, ${tables.length + 6} tables, lints + drift): median wall time ${ms(median(times))} (target < 3 s); node + dbkit start-up alone ${ms(startup)}; ${findings} findings`);
  } finally {
    await client.end().catch(() => {});
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end();
    if (stateDir) {
      await destroyEmbedded(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
}

await main();
