/**
 * Evaluation of issue 8 A and B on public projects: each migrations folder is run with its plain
 * tool and with dbkit on fresh databases of the server at DATABASE_URL (PostgreSQL 15 here), and
 * the results compared:
 *   - the schema after apply is identical (history tables left out: each tool has its own);
 *   - dbkit adopts the history the plain tool wrote (status, then apply changes nothing else);
 *   - `rollback --all` stops exactly where the plain tool's down stops;
 *   - dbkit applies again to the same schema.
 * The repositories are read where `fetch` put them (a bare git directory) or from a checkout,
 * copied to a temporary folder, never into this repository.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx scripts/eval/adopt.ts \
 *     --project /work/.mirror/cardstack+boxel/repo:packages/postgres/migrations \
 *       --ignore-pattern '.*\.eslintrc\.js|package\.json' --migrations-table migrations \
 *     --project /work/.mirror/usebasejump+basejump/repo:supabase/migrations
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { withClient } from '../../src/db/scoped.ts';
import { withDatabase } from '../../src/db/connect.ts';
import { schemaSnapshot } from '../../src/db/fingerprint.ts';
import { diffSnapshots, fingerprintOf, type SchemaSnapshot } from '../../src/core/fingerprint.ts';
import { folderFormatOf } from '../../src/migrations/files.ts';
import { applySupabasePlain, createMissingRoles, dbkit, installSupabaseStubs, nodePgMigrate, supabaseFiles, type Run } from './plain.ts';
import { table } from '../bench/support.ts';

interface Project {
  location: string;
  folder: string;
  ignorePattern: string | null;
  migrationsTable: string;
  migrationsSchema: string;
  /** Run on dbkit's embedded PostgreSQL 17 instead of DATABASE_URL (a folder that needs a newer server). */
  embedded: boolean;
}

function parseArgs(argv: string[]): Project[] {
  const projects: Project[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const value = argv[i + 1];
    if (arg === '--project' && value) {
      i += 1;
      const at = value.lastIndexOf(':');
      projects.push({ location: value.slice(0, at), folder: value.slice(at + 1), ignorePattern: null, migrationsTable: 'pgmigrations', migrationsSchema: 'public', embedded: false });
      continue;
    } else if (projects.length > 0 && value && arg === '--ignore-pattern') projects.at(-1)!.ignorePattern = value;
    else if (projects.length > 0 && value && arg === '--migrations-table') projects.at(-1)!.migrationsTable = value;
    else if (projects.length > 0 && value && arg === '--migrations-schema') projects.at(-1)!.migrationsSchema = value;
    else if (projects.length > 0 && arg === '--embedded') {
      projects.at(-1)!.embedded = true;
      continue;
    } else throw new Error(`unexpected argument ${arg}; usage: --project <repository>:<migrations folder> [--ignore-pattern R] [--migrations-table T] ...`);
    i += 1;
  }
  if (projects.length === 0) throw new Error('give at least one --project <repository>:<migrations folder>');
  return projects;
}

/** The folder, copied out of the repository (a bare git directory from `fetch`, or a checkout). */
function materialise(project: Project, into: string): string {
  const bare = existsSync(path.join(project.location, 'HEAD')) && existsSync(path.join(project.location, 'objects'));
  if (bare) {
    const tar = execFileSync('git', ['--git-dir', project.location, 'archive', '--format=tar', 'HEAD', project.folder], { maxBuffer: 1 << 30 });
    execFileSync('tar', ['-x', '-C', into], { input: tar });
  } else {
    cpSync(path.join(project.location, project.folder), path.join(into, project.folder), { recursive: true });
  }
  return path.join(into, project.folder);
}

/** The schema without the tools' own bookkeeping (dbkit's schema, node-pg-migrate's table, supabase_migrations). */
async function schemaOf(url: string, history: string): Promise<SchemaSnapshot> {
  const snapshot = await withClient(url, {}, (c) => schemaSnapshot(c));
  const own = (name: string) => name === history || name === `${history}_id_seq` || name.startsWith('supabase_migrations.');
  return {
    ...snapshot,
    schemas: snapshot.schemas.filter((s) => s.name !== 'supabase_migrations'),
    relations: snapshot.relations.filter((r) => !own(r.name)),
    functions: snapshot.functions.filter((f) => !own(f.name)),
    types: snapshot.types.filter((t) => !own(t.name)),
  };
}

const same = (a: SchemaSnapshot, b: SchemaSnapshot) => fingerprintOf(a).hash === fingerprintOf(b).hash;

async function historyRows(url: string, project: Project, supabase: boolean): Promise<string[]> {
  const sql = supabase
    ? `SELECT version || ':' || coalesce(name, '') AS k FROM supabase_migrations.schema_migrations ORDER BY version`
    : `SELECT name AS k FROM "${project.migrationsSchema}"."${project.migrationsTable}" ORDER BY run_on, id`;
  return withClient(url, {}, async (c) => (await c.query<{ k: string }>(sql).catch(() => ({ rows: [] as { k: string }[] }))).rows.map((r) => r.k));
}

const parse = (run: Run): Record<string, unknown> => {
  try {
    return JSON.parse(run.output.slice(run.output.indexOf('{'), run.output.lastIndexOf('}') + 1)) as Record<string, unknown>;
  } catch {
    return {};
  }
};

async function evaluate(project: Project, adminUrl: string, work: string): Promise<string[]> {
  const root = mkdtempSync(path.join(work, 'project-'));
  const dir = materialise(project, root);
  const supabase = folderFormatOf(dir) === 'supabase';
  const history = supabase ? 'supabase_migrations.schema_migrations' : `${project.migrationsSchema}.${project.migrationsTable}`;
  const npmOpts = ['--migrations-dir', dir, '--migrations-table', project.migrationsTable, '--migrations-schema', project.migrationsSchema, ...(project.ignorePattern ? ['--ignore-pattern', project.ignorePattern] : [])];
  const dbkitOpts = ['--migrations-dir', dir, '--migrations-table', project.migrationsTable, '--migrations-schema', project.migrationsSchema, ...(project.ignorePattern ? ['--ignore-pattern', project.ignorePattern] : [])];
  const state = mkdtempSync(path.join(work, 'state-'));
  const names = ['plain', 'dbkit', 'down'].map((n) => `eval_${n}_${randomBytes(3).toString('hex')}`);
  const [plainUrl, dbkitUrl, downUrl] = names.map((n) => withDatabase(adminUrl, n)) as [string, string, string];
  await withClient(adminUrl, {}, async (c) => {
    for (const n of names) await c.query(`CREATE DATABASE ${n}`);
  });
  try {
    if (supabase) for (const url of [plainUrl, dbkitUrl, downUrl]) await withClient(url, {}, installSupabaseStubs);
    const label = `${path.basename(project.location.replace(/\/repo$/, ''))}:${project.folder}`;
    const files = supabase ? supabaseFiles(dir).length : null;
    // 1. The plain tool.
    let plainMs: number;
    let plainError: string | null = null;
    if (supabase) {
      const results = await Promise.all([plainUrl, downUrl].map((u) => applySupabasePlain(u, dir)));
      plainMs = results[0]!.ms;
      plainError = results[0]!.error;
    } else {
      const results = await Promise.all([plainUrl, downUrl].map((u) => nodePgMigrate(u, ['up', ...npmOpts], root)));
      plainMs = results[0]!.ms;
      if (results[0]!.code !== 0) plainError = results[0]!.output.split('\n').filter(Boolean).slice(-3).join(' | ');
    }
    const plainHistory = await historyRows(plainUrl, project, supabase);
    // 2. dbkit on a fresh database.
    const apply = await dbkit(dbkitUrl, ['apply', '--json', ...dbkitOpts], root, state);
    const applied = (parse(apply).migrations as { status: string }[] | undefined)?.filter((m) => m.status === 'applied').length ?? 0;
    const [plainSchema, dbkitSchema] = [await schemaOf(plainUrl, history), await schemaOf(dbkitUrl, history)];
    const identical = same(plainSchema, dbkitSchema);
    // 3. Adoption of the plain tool's history.
    const status = parse(await dbkit(plainUrl, ['status', '--json', ...dbkitOpts], root, state));
    const adoptedInStatus = (status.applied as { adopted: unknown }[] | undefined)?.filter((a) => a.adopted).length ?? 0;
    const adopt = await dbkit(plainUrl, ['apply', '--json', ...dbkitOpts], root, state);
    const adoptReport = parse(adopt);
    const adopted = (adoptReport.adopted as string[] | undefined)?.length ?? 0;
    const ranOnAdopt = (adoptReport.migrations as unknown[] | undefined)?.length ?? 0;
    const untouched = same(plainSchema, await schemaOf(plainUrl, history)) && (await historyRows(plainUrl, project, supabase)).join() === plainHistory.join();
    // 4. Where the plain tool's down stops, and where dbkit's rollback --all stops.
    let plainStop: string;
    if (supabase) plainStop = plainHistory.at(-1)?.split(':').join('_') ?? 'none';
    else {
      await nodePgMigrate(downUrl, ['down', String(plainHistory.length), '--no-single-transaction', ...npmOpts], root);
      plainStop = (await historyRows(downUrl, project, supabase)).at(-1) ?? 'none (all reverted)';
    }
    const rollback = await dbkit(dbkitUrl, ['rollback', '--all', '--yes', '--json', ...dbkitOpts], root, state);
    let dbkitStop = rollback.code === 0 ? 'none (all reverted)' : (/cannot revert ([^\s,:(]+)/.exec(rollback.output)?.[1] ?? `exit ${rollback.code}`);
    if (rollback.code === 11) dbkitStop = (parse(rollback).applied as string[] | undefined)?.at(-1) ?? dbkitStop;
    // dbkit refused before any change: revert what follows the irreversible one, as its hint says.
    if (rollback.code === 7 && !supabase) await dbkit(dbkitUrl, ['rollback', '--to', dbkitStop, '--yes', ...dbkitOpts], root, state);
    const stopSchemaSame = supabase ? same(await schemaOf(dbkitUrl, history), plainSchema) : same(await schemaOf(dbkitUrl, history), await schemaOf(downUrl, history));
    // 5. Apply again.
    const again = await dbkit(dbkitUrl, ['apply', '--json', ...dbkitOpts], root, state);
    const againSame = same(await schemaOf(dbkitUrl, history), plainSchema);
    const diff = identical ? 0 : diffSnapshots(plainSchema, dbkitSchema).length;
    return [
      label,
      String(files ?? plainHistory.length),
      plainError ? `FAILED: ${plainError.slice(0, 120)}` : `${plainHistory.length} in ${(plainMs / 1000).toFixed(1)} s`,
      apply.code === 0 ? `${applied} in ${(apply.ms / 1000).toFixed(1)} s` : `exit ${apply.code}: ${apply.output.split('\n').find((l) => l.startsWith('error') || l.includes('"message"'))?.slice(0, 140) ?? ''}`,
      identical ? 'identical' : `${diff} differences`,
      `${adoptedInStatus}/${plainHistory.length} shown, ${adopted}/${plainHistory.length} recorded, ${ranOnAdopt} run, ${untouched ? 'schema and history untouched' : 'CHANGED'}`,
      `${plainStop} / ${dbkitStop}${plainStop === dbkitStop ? ' (same)' : ' (DIFFERENT)'}; schema there ${stopSchemaSame ? 'identical' : 'DIFFERENT'}`,
      again.code === 0 && againSame ? 'identical' : `exit ${again.code}, ${againSame ? 'identical' : 'DIFFERENT'}`,
    ];
  } finally {
    await withClient(adminUrl, {}, async (c) => {
      for (const n of names) await c.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
      const { rows } = await c.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE 'dbkit\\_bk\\_%eval\\_%'");
      for (const row of rows) await c.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
    });
    rmSync(root, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('set DATABASE_URL to a PostgreSQL 15+ server where databases may be created');
  const projects = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(path.join(os.tmpdir(), 'dbkit-eval-'));
  mkdirSync(work, { recursive: true });
  const createdRoles = projects.some((p) => p.folder.endsWith('supabase/migrations')) ? await createMissingRoles(adminUrl) : [];
  const rows: string[][] = [];
  const embeddedState = path.join(work, 'embedded');
  let embeddedUrl: string | null = null;
  try {
    for (const project of projects) {
      process.stderr.write(`evaluating ${project.location}:${project.folder}${project.embedded ? ' on the embedded PostgreSQL 17' : ''}...\n`);
      if (project.embedded && !embeddedUrl) {
        mkdirSync(embeddedState, { recursive: true });
        chmodSync(work, 0o755);
        chmodSync(embeddedState, 0o755);
        await dbkit('', ['db', 'start'], work, embeddedState);
        embeddedUrl = withDatabase((await dbkit('', ['db', 'url', '--show-password'], work, embeddedState)).output.trim(), 'postgres');
      }
      const row = await evaluate(project, project.embedded ? embeddedUrl! : adminUrl, work);
      rows.push([`${row[0]}${project.embedded ? ' (PG 17)' : ' (PG 15)'}`, ...row.slice(1)]);
    }
  } finally {
    if (embeddedUrl) await dbkit('', ['db', 'stop'], work, embeddedState);
    await withClient(adminUrl, {}, async (c) => {
      for (const role of createdRoles) await c.query(`DROP ROLE IF EXISTS ${role}`).catch((e: Error) => process.stderr.write(`could not drop role ${role}: ${e.message}\n`));
    });
    rmSync(work, { recursive: true, force: true });
  }
  const header = ['project', 'migrations', 'plain tool applied', 'dbkit applied (fresh db)', 'schema after apply', 'adoption of the plain history', "down stops at: plain / dbkit rollback --all", 'dbkit apply again'];
  for (const row of rows) process.stdout.write(`${header.map((h, i) => `${h.padEnd(44)} ${row[i]}`).join('\n')}\n\n`);
  process.stdout.write(`${table(['project', 'migrations', 'schema', 'rollback stop'], rows.map((r) => [r[0]!, r[1]!, r[4]!, r[6]!.includes('(same)') ? 'same' : 'different']))}\n`);
}

await main();
