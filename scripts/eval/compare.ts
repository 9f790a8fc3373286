/**
 * What the evaluation compares: the schema each tool leaves (without the tools' own bookkeeping),
 * and the history the folder's own tool reads (node-pg-migrate's table, or the Supabase CLI's
 * `supabase_migrations.schema_migrations` with the statements it records).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import path from 'node:path';
import { withClient } from '../../src/db/scoped.ts';
import { schemaSnapshot } from '../../src/db/fingerprint.ts';
import { fingerprintOf, type SchemaSnapshot } from '../../src/core/fingerprint.ts';
import type { Run } from './plain.ts';

export interface HistoryTable {
  kind: 'node-pg-migrate' | 'supabase';
  schema: string;
  table: string;
}

/** The folder, copied out of the repository (a bare git directory from `fetch`, or a checkout). */
export function materialise(location: string, folder: string, into: string): string {
  const bare = existsSync(path.join(location, 'HEAD')) && existsSync(path.join(location, 'objects'));
  if (bare) {
    // A fetched snapshot lacks its largest blobs; `git archive` of one folder still reads the others' entries, so its complaints about them are dropped.
    const tar = execFileSync('git', ['--git-dir', location, 'archive', '--format=tar', 'HEAD', folder], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    execFileSync('tar', ['-x', '-C', into], { input: tar });
  } else {
    cpSync(path.join(location, folder), path.join(into, folder), { recursive: true });
  }
  return path.join(into, folder);
}

/** The schema without the tools' own bookkeeping (dbkit's schema, node-pg-migrate's table, supabase_migrations). */
export async function schemaOf(url: string, history: HistoryTable): Promise<SchemaSnapshot> {
  const snapshot = await withClient(url, {}, (c) => schemaSnapshot(c));
  const table = `${history.schema}.${history.table}`;
  const own = (name: string) => name === table || name === `${table}_id_seq` || name.startsWith('supabase_migrations.');
  return {
    ...snapshot,
    schemas: snapshot.schemas.filter((s) => s.name !== 'supabase_migrations'),
    relations: snapshot.relations.filter((r) => !own(r.name)),
    functions: snapshot.functions.filter((f) => !own(f.name)),
    types: snapshot.types.filter((t) => !own(t.name)),
  };
}

export const same = (a: SchemaSnapshot, b: SchemaSnapshot) => fingerprintOf(a).hash === fingerprintOf(b).hash;

/**
 * The history as the folder's tool reads it, oldest first: node-pg-migrate's names (it checks their
 * order), the Supabase CLI's version, name and recorded statements. An absent table reads as empty.
 */
export async function historyRows(url: string, history: HistoryTable): Promise<string[]> {
  const table = `"${history.schema}"."${history.table}"`;
  const sql =
    history.kind === 'supabase'
      ? `SELECT version || ':' || coalesce(name, '') || ':' || md5(coalesce(array_to_string(statements, E'\\x1e'), '')) AS k FROM ${table} ORDER BY version`
      : `SELECT name AS k FROM ${table} ORDER BY run_on, id`;
  return withClient(url, {}, async (c) => {
    const exists = await c.query('SELECT to_regclass($1) IS NOT NULL AS e', [table]);
    if (!exists.rows[0]?.e) return [];
    return (await c.query<{ k: string }>(sql)).rows.map((r) => r.k);
  });
}

/** The name part of a history row (a Supabase row's `version_name`). */
export const migrationOf = (row: string | undefined, history: HistoryTable): string =>
  row === undefined ? 'none (all reverted)' : history.kind === 'supabase' ? row.split(':').slice(0, 2).join('_') : row;

/** The JSON report of a `--json` run, or {} when it printed none. */
export function parseReport(run: Run): Record<string, unknown> {
  try {
    return JSON.parse(run.output.slice(run.output.indexOf('{'), run.output.lastIndexOf('}') + 1)) as Record<string, unknown>;
  } catch {
    return {};
  }
}
