/**
 * Evaluation of issue 8 A and B on public projects: each migrations folder is run with its plain
 * tool and with dbkit on fresh databases of the server at DATABASE_URL (PostgreSQL 15 here), or on
 * dbkit's embedded PostgreSQL 17 (`--embedded`, for a folder that needs a newer server), and the
 * results compared (see `evaluate`):
 *   - the schema after apply is identical (history tables left out: each tool has its own);
 *   - dbkit adopts the history the plain tool wrote on a database it migrated part of the way
 *     (status, apply, rollback --all, apply), keeping that history as the plain tool would;
 *   - `rollback --all` stops exactly where the plain tool's down stops, at the same schema;
 *   - dbkit applies again to the same schema.
 * The repositories are read where `fetch` put them (a bare git directory) or from a checkout,
 * copied to a temporary folder, never into this repository. A Supabase project runs on stubs of the
 * platform (plain.ts, stub-extensions.ts), removed afterwards.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx scripts/eval/adopt.ts \
 *     --project /work/.mirror/cardstack+boxel/repo:packages/postgres/migrations \
 *       --ignore-pattern '.*\.eslintrc\.js|package\.json' --migrations-table migrations --embedded \
 *     --project /work/.mirror/usebasejump+basejump/repo:supabase/migrations
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { withClient } from '../../src/db/scoped.ts';
import { withDatabase } from '../../src/db/connect.ts';
import { diffSnapshots } from '../../src/core/fingerprint.ts';
import { folderFormatOf } from '../../src/migrations/files.ts';
import { applySupabasePlain, createMissingRoles, dbkit, installSupabaseStubs, nodePgMigrate, type Run } from './plain.ts';
import { historyRows, materialise, migrationOf, parseReport, same, schemaOf, type HistoryTable } from './compare.ts';
import { installStubExtensions, removeStubExtensions } from './stub-extensions.ts';
import { writeShims } from './shims.ts';
import { table } from '../bench/support.ts';

const SUPABASE_TABLE = { schema: 'supabase_migrations', table: 'schema_migrations' } as const;

interface Project {
  location: string;
  folder: string;
  ignorePattern: string | null;
  migrationsTable: string;
  migrationsSchema: string;
  /** Run on dbkit's embedded PostgreSQL 17 instead of DATABASE_URL (a folder that needs a newer server). */
  embedded: boolean;
  /** Other paths of the repository the migrations import (self-contained modules), copied beside the folder. */
  also: string[];
  /** A set of stand-ins (shims.ts) for application modules the migrations import. */
  shims: string | null;
}

function parseArgs(argv: string[]): Project[] {
  const projects: Project[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const value = argv[i + 1];
    if (arg === '--project' && value) {
      i += 1;
      const at = value.lastIndexOf(':');
      projects.push({ location: value.slice(0, at), folder: value.slice(at + 1), ignorePattern: null, migrationsTable: 'pgmigrations', migrationsSchema: 'public', embedded: false, also: [], shims: null });
      continue;
    } else if (projects.length > 0 && value && arg === '--ignore-pattern') projects.at(-1)!.ignorePattern = value;
    else if (projects.length > 0 && value && arg === '--migrations-table') projects.at(-1)!.migrationsTable = value;
    else if (projects.length > 0 && value && arg === '--migrations-schema') projects.at(-1)!.migrationsSchema = value;
    else if (projects.length > 0 && value && arg === '--also') projects.at(-1)!.also.push(value);
    else if (projects.length > 0 && value && arg === '--shims') projects.at(-1)!.shims = value;
    else if (projects.length > 0 && arg === '--embedded') {
      projects.at(-1)!.embedded = true;
      continue;
    } else throw new Error(`unexpected argument ${arg}; usage: --project <repository>:<migrations folder> [--ignore-pattern R] [--migrations-table T] [--migrations-schema S] [--also <path>] [--shims <name>] [--embedded]`);
    i += 1;
  }
  if (projects.length === 0) throw new Error('give at least one --project <repository>:<migrations folder>');
  return projects;
}

interface Row {
  project: string;
  migrations: string;
  skipped: string;
  plainApply: string;
  dbkitApply: string;
  schema: string;
  adoption: string;
  rollback: string;
  again: string;
}

const firstError = (run: Run) => run.output.split('\n').find((l) => l.startsWith('error') || l.includes('"message"'))?.trim().slice(0, 140) ?? '';
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * One project, on four fresh databases:
 *   plain  the plain tool applies every migration (the reference schema and history);
 *   fresh  dbkit applies every migration;
 *   adopt  the plain tool applies all but the last few, then dbkit status, apply (adopting what the
 *          plain tool applied), rollback --all, apply: the schema and the plain tool's history are
 *          compared with the plain tool's at each step, and after apply `node-pg-migrate up` must
 *          find nothing to run;
 *   down   the plain tool applies every migration, then reverts them all (where its down stops).
 */
async function evaluate(project: Project, adminUrl: string, work: string): Promise<Row> {
  const root = mkdtempSync(path.join(work, 'project-'));
  const dir = materialise(project.location, project.folder, root);
  for (const extra of project.also) materialise(project.location, extra, root);
  if (project.shims) writeShims(project.shims, root);
  const supabase = folderFormatOf(dir) === 'supabase';
  const history: HistoryTable = supabase ? { kind: 'supabase', ...SUPABASE_TABLE } : { kind: 'node-pg-migrate', schema: project.migrationsSchema, table: project.migrationsTable };
  const opts = ['--migrations-dir', dir, '--migrations-table', project.migrationsTable, '--migrations-schema', project.migrationsSchema, ...(project.ignorePattern ? ['--ignore-pattern', project.ignorePattern] : [])];
  const state = mkdtempSync(path.join(work, 'state-'));
  const names = ['plain', 'fresh', 'adopt', 'down'].map((n) => `eval_${n}_${randomBytes(3).toString('hex')}`);
  const [plainUrl, freshUrl, adoptUrl, downUrl] = names.map((n) => withDatabase(adminUrl, n)) as [string, string, string, string];
  await withClient(adminUrl, {}, async (c) => {
    for (const n of names) await c.query(`CREATE DATABASE ${n}`);
  });
  const run = (url: string, args: string[]) => dbkit(url, [...args, '--json', ...opts], root, state);
  const plainUp = async (url: string, count?: number) => {
    if (supabase) {
      const r = await applySupabasePlain(url, dir, count);
      return { ms: r.ms, error: r.error };
    }
    const r = await nodePgMigrate(url, ['up', ...(count === undefined ? [] : [String(count)]), ...opts], root);
    return { ms: r.ms, error: r.code === 0 ? null : r.output.split('\n').filter(Boolean).slice(-3).join(' | ') };
  };
  try {
    if (supabase) for (const url of [plainUrl, freshUrl, adoptUrl, downUrl]) await withClient(url, {}, installSupabaseStubs);
    const files = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).length;
    // 1. The plain tool, everything.
    const [plain] = await Promise.all([plainUp(plainUrl), plainUp(downUrl)]);
    const reference = await schemaOf(plainUrl, history);
    const plainHistory = await historyRows(plainUrl, history);
    const total = plainHistory.length;
    const row: Row = {
      project: `${path.basename(project.location.replace(/\/repo$/, ''))}:${project.folder}`,
      migrations: String(total),
      skipped: `${files - total} of ${files} files`,
      plainApply: plain.error ? `FAILED: ${plain.error.slice(0, 120)}` : `${total} in ${seconds(plain.ms)}`,
      dbkitApply: '',
      schema: '',
      adoption: '',
      rollback: '',
      again: '',
    };
    // 2. dbkit on a fresh database.
    const fresh = await run(freshUrl, ['apply']);
    const freshApplied = (parseReport(fresh).migrations as { status: string }[] | undefined)?.filter((m) => m.status === 'applied').length ?? 0;
    row.dbkitApply = fresh.code === 0 ? `${freshApplied} in ${seconds(fresh.ms)}` : `exit ${fresh.code}: ${firstError(fresh)}`;
    const freshSchema = await schemaOf(freshUrl, history);
    row.schema = same(reference, freshSchema) ? 'identical' : `${diffSnapshots(reference, freshSchema).length} differences`;
    if (supabase) row.schema += (await historyRows(freshUrl, history)).join() === plainHistory.join() ? ', history identical' : ', history DIFFERENT';
    // 3. Adoption: the plain tool applied all but the last k.
    const k = Math.min(10, Math.max(1, Math.floor(total / 4)));
    await plainUp(adoptUrl, total - k);
    const status = parseReport(await run(adoptUrl, ['status']));
    const shownAdopted = (status.applied as { adopted: unknown }[] | undefined)?.filter((a) => a.adopted).length ?? 0;
    const shownPending = (status.pending as unknown[] | undefined)?.length ?? 0;
    const adopt = await run(adoptUrl, ['apply']);
    const adoptReport = parseReport(adopt);
    const adopted = (adoptReport.adopted as string[] | undefined)?.length ?? 0;
    const ran = (adoptReport.migrations as { status: string }[] | undefined)?.filter((m) => m.status === 'applied').length ?? 0;
    const inStep = (await historyRows(adoptUrl, history)).join() === plainHistory.join();
    const adoptSame = same(reference, await schemaOf(adoptUrl, history));
    let plainAfter = '';
    if (!supabase) {
      const again = await nodePgMigrate(adoptUrl, ['up', ...opts], root);
      plainAfter = again.code === 0 && /No migrations to run/.test(again.output) && (await historyRows(adoptUrl, history)).join() === plainHistory.join() ? '; node-pg-migrate up after it: nothing to run' : `; node-pg-migrate up after it: exit ${again.code}, ${again.output.split('\n').filter(Boolean).at(-1)}`;
    }
    row.adoption =
      adopt.code === 0
        ? `status ${shownAdopted} adopted + ${shownPending} pending; apply adopted ${adopted}, ran ${ran}; schema ${adoptSame ? 'identical' : 'DIFFERENT'}, history ${inStep ? 'in step' : 'NOT in step'}${plainAfter}`
        : `status ${shownAdopted} adopted + ${shownPending} pending; apply exit ${adopt.code}: ${firstError(adopt)}`;
    // 4. Where the plain tool's down stops, and where dbkit's rollback --all stops (on the adopted database).
    if (!supabase) await nodePgMigrate(downUrl, ['down', String(total), '--no-single-transaction', ...opts], root);
    const downHistory = supabase ? plainHistory : await historyRows(downUrl, history);
    const plainStop = migrationOf(downHistory.at(-1), history);
    const rollback = await run(adoptUrl, ['rollback', '--all', '--yes']);
    let dbkitStop = rollback.code === 0 ? 'none (all reverted)' : (/cannot revert ([^\s,:(]+)/.exec(rollback.output)?.[1] ?? `exit ${rollback.code}`);
    if (rollback.code === 11) dbkitStop = (parseReport(rollback).applied as string[] | undefined)?.at(-1) ?? dbkitStop;
    // dbkit refused before any change: revert what follows the one it cannot revert, as its hint says.
    if (rollback.code === 7 && total > 0 && dbkitStop !== migrationOf(plainHistory.at(-1), history)) await run(adoptUrl, ['rollback', '--to', dbkitStop, '--yes']);
    const stopSchema = same(await schemaOf(adoptUrl, history), supabase ? reference : await schemaOf(downUrl, history));
    const stopHistory = (await historyRows(adoptUrl, history)).join() === downHistory.join();
    row.rollback = `${plainStop} / ${dbkitStop}${plainStop === dbkitStop ? ' (same)' : ' (DIFFERENT)'}; schema there ${stopSchema ? 'identical' : 'DIFFERENT'}, history ${stopHistory ? 'identical' : 'DIFFERENT'}`;
    // 5. Apply again.
    const again = await run(adoptUrl, ['apply']);
    const againSame = same(reference, await schemaOf(adoptUrl, history)) && (await historyRows(adoptUrl, history)).join() === plainHistory.join();
    row.again = again.code === 0 && againSame ? 'schema and history identical' : `exit ${again.code}, ${againSame ? 'identical' : 'DIFFERENT'}`;
    return row;
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
  const anySupabase = projects.some((p) => p.folder.endsWith('supabase/migrations'));
  const createdRoles = anySupabase ? await createMissingRoles(adminUrl) : [];
  // Extensions of the Supabase platform that the server lacks (pg_cron, pg_jsonschema, http), as stubs for this run.
  const stubFiles = anySupabase ? await installStubExtensions(adminUrl) : [];
  const rows: Row[] = [];
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
        if (anySupabase) {
          await createMissingRoles(embeddedUrl); // a throw-away cluster: the roles go with it
          stubFiles.push(...(await installStubExtensions(embeddedUrl)));
        }
      }
      const row = await evaluate(project, project.embedded ? embeddedUrl! : adminUrl, work);
      rows.push({ ...row, project: `${row.project}${project.embedded ? ' (PG 17)' : ' (PG 15)'}` });
    }
  } finally {
    if (embeddedUrl) await dbkit('', ['db', 'stop'], work, embeddedState);
    removeStubExtensions(stubFiles);
    await withClient(adminUrl, {}, async (c) => {
      for (const role of createdRoles) await c.query(`DROP ROLE IF EXISTS ${role}`).catch((e: Error) => process.stderr.write(`could not drop role ${role}: ${e.message}\n`));
    });
    rmSync(work, { recursive: true, force: true });
  }
  const labels: Record<keyof Row, string> = {
    project: 'project',
    migrations: 'migrations',
    skipped: 'files not run (ignored or skipped)',
    plainApply: 'plain tool applied',
    dbkitApply: 'dbkit applied (fresh database)',
    schema: 'schema after apply',
    adoption: 'adoption (plain tool applied all but the last few)',
    rollback: 'rollback stops at: plain down / dbkit --all',
    again: 'dbkit apply again',
  };
  for (const row of rows) process.stdout.write(`${(Object.keys(labels) as (keyof Row)[]).map((key) => `${labels[key].padEnd(52)} ${row[key]}`).join('\n')}\n\n`);
  process.stdout.write(`${table(['project', 'migrations', 'schema', 'rollback stop'], rows.map((r) => [r.project, r.migrations, r.schema, r.rollback.includes('(same)') ? 'same' : 'different']))}\n`);
}

await main();
