/**
 * Tenancy inference, generic seeding and the matrix with its attack probes, on generated schemas
 * with membership tenancy (teams, team_members with a role enum, a SECURITY DEFINER is_member()
 * helper; half the tables hang from a team, the rest from another table, with CHECK, enum, unique
 * and foreign-key columns to satisfy). Baselines measured in the same run, printed as ratios:
 *
 * (a) 50 tables, in-process: the plain catalog read (baseline), inference, seeding + matrix +
 *     attacks. Target: inference + seeding + matrix < 10 s.
 * (b) 200 tables, the CLI: the whole audit with the inferred matrix, against the same audit with
 *     --no-matrix (lints only) as baseline. Target < 30 s.
 *
 *   npm run bench:rls-infer                      # DATABASE_URL's server
 *   BENCH_TABLES=50,200 BENCH_ROUNDS=3 npm run bench:rls-infer
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { readAuditCatalog } from '../../src/audit/catalog.ts';
import { inferFromCatalog } from '../../src/audit/infer-catalog.ts';
import { runIsolationMatrix } from '../../src/audit/impersonate.ts';
import { DEFAULT_API_ROLES, MANAGED_SCHEMAS } from '../../src/audit/model.ts';
import { median, ms, ratio, recordingReporter, timed, withScratchDatabase } from './support.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const ADMIN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZES = (process.env.BENCH_TABLES ?? '50,200').split(',').map(Number);

/** A schema of `tables` RLS tables with membership tenancy (teams and team_members count among them). */
export function membershipSchema(tables: number): string {
  const out = [
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN NOINHERIT; END IF;
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN NOINHERIT; END IF;
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS; END IF;
     END $$`,
    'CREATE SCHEMA auth',
    'GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role',
    "CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid $$",
    'GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role',
    'CREATE TABLE auth.users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text UNIQUE)',
    "CREATE TYPE public.member_role AS ENUM ('owner', 'admin', 'member')",
    "CREATE TYPE public.state AS ENUM ('open', 'closed')",
    'CREATE TABLE public.teams (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL, owner_id uuid NOT NULL REFERENCES auth.users (id))',
    "CREATE TABLE public.team_members (team_id uuid NOT NULL REFERENCES public.teams (id) ON DELETE CASCADE, user_id uuid NOT NULL REFERENCES auth.users (id), role public.member_role NOT NULL DEFAULT 'member', PRIMARY KEY (team_id, user_id))",
    `CREATE FUNCTION public.is_member(t uuid) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
       SELECT EXISTS (SELECT 1 FROM public.team_members m WHERE m.team_id = t AND m.user_id = auth.uid()) $$`,
    'CREATE POLICY teams_rw ON public.teams FOR ALL TO authenticated USING (public.is_member(id)) WITH CHECK (owner_id = auth.uid())',
    'CREATE POLICY members_read ON public.team_members FOR SELECT TO authenticated USING (public.is_member(team_id))',
  ];
  const names: string[] = [];
  for (let i = 0; i < tables - 2; i += 1) {
    const name = `t${String(i).padStart(3, '0')}`;
    // even tables hang from a team, odd ones from the table before (which hangs from a team)
    const parent = i % 2 === 0 ? null : names[i - 1]!;
    const tie = parent ? `${parent}_id uuid NOT NULL REFERENCES public.${parent} (id) ON DELETE CASCADE` : 'team_id uuid NOT NULL REFERENCES public.teams (id) ON DELETE CASCADE';
    out.push(`CREATE TABLE public.${name} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), ${tie}, created_by uuid NOT NULL REFERENCES auth.users (id),
      title text NOT NULL UNIQUE, amount numeric NOT NULL CHECK (amount > 0), kind text NOT NULL CHECK (kind IN ('a', 'b', 'c')), state public.state NOT NULL,
      at timestamptz NOT NULL, flag boolean NOT NULL, meta jsonb)`);
    const own = parent
      ? `${parent}_id IN (SELECT p.id FROM public.${parent} p WHERE public.is_member(p.team_id))`
      : 'public.is_member(team_id)';
    out.push(`CREATE POLICY ${name}_rw ON public.${name} FOR ALL TO authenticated USING (${own}) WITH CHECK (${own} AND created_by = auth.uid())`);
    names.push(name);
  }
  out.push('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO anon, authenticated, service_role');
  out.push(`DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t); END LOOP; END $$`);
  return out.join(';\n');
}

async function inProcess(url: string): Promise<{ catalog: number; infer: number; matrix: number; cells: number; leaks: number; unseedable: number; placed: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const settings = { managedSchemas: MANAGED_SCHEMAS, exposedSchemas: ['public'] };
    const read = await timed(() => readAuditCatalog(client, DEFAULT_API_ROLES));
    const inferred = await timed(() => inferFromCatalog(client, read.result, settings));
    const matrix = await timed(() => runIsolationMatrix(client, inferred.result.map, 'inferred', recordingReporter(), { attacks: { exposedSchemas: ['public'] } }));
    return {
      catalog: read.ms, infer: inferred.ms, matrix: matrix.ms, cells: matrix.result.cells.length,
      leaks: matrix.result.summary.leaks, unseedable: matrix.result.unseedable.length, placed: inferred.result.map.tables.length,
    };
  } finally {
    await client.end();
  }
}

function cli(url: string, extra: string[]): { ms: number; cells: number } {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'dbkit-bench-policies-'));
  const env = { ...process.env, NO_COLOR: '1', DATABASE_URL: '' };
  const started = performance.now();
  let out = '';
  try {
    out = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'dbkit.js'), 'rls-audit', '--db', url, '--json', '--policies-dir', empty, '--fail-on', 'never', ...extra], { env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  } catch (error) {
    out = (error as { stdout?: string }).stdout ?? '';
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
  const elapsed = performance.now() - started;
  return { ms: elapsed, cells: (JSON.parse(out) as { matrix: unknown[] }).matrix.length };
}

async function main(): Promise<void> {
  console.log(`bench:rls-infer on ${new URL(ADMIN).host} (${ROUNDS} rounds, medians)`);
  for (const size of SIZES) {
    await withScratchDatabase(ADMIN, async (url) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(membershipSchema(size));
      await c.end();
      if (size <= 100) {
        const runs: Awaited<ReturnType<typeof inProcess>>[] = [];
        for (let i = 0; i < ROUNDS; i += 1) runs.push(await inProcess(url));
        const m = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
        const total = m((r) => r.infer + r.matrix);
        const r0 = runs[0]!;
        console.log(`(a) ${size} tables (membership tenancy), in-process: ${r0.placed} placed, ${r0.cells} cells (${r0.leaks} leaks), ${r0.unseedable} unseedable`);
        console.log(`    plain catalog read (baseline) ${ms(m((r) => r.catalog))}; inference ${ms(m((r) => r.infer))} (${ratio(m((r) => r.infer) / m((r) => r.catalog))}); seeding + matrix + attacks ${ms(m((r) => r.matrix))} (${ratio(m((r) => r.matrix) / m((r) => r.catalog))})`);
        console.log(`    inference + seeding + matrix: ${ms(total)} (target < 10 s: ${total < 10_000 ? 'met' : 'MISSED'})`);
      } else {
        cli(url, ['--no-matrix']); // warm
        const lint = median(Array.from({ length: ROUNDS }, () => cli(url, ['--no-matrix']).ms));
        const whole = Array.from({ length: ROUNDS }, () => cli(url, []));
        const t = median(whole.map((w) => w.ms));
        console.log(`(b) ${size} tables, dbkit rls-audit (CLI): lints only (--no-matrix, baseline) ${ms(lint)}; whole audit with the inferred matrix ${ms(t)} (${ratio(t / lint)}), ${whole[0]!.cells} cells (target < 30 s: ${t < 30_000 ? 'met' : 'MISSED'})`);
      }
    });
  }
}

if (process.argv[1]?.endsWith("rls-infer.ts")) await main();
