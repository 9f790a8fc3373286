/**
 * The history another tool keeps of the same migrations, which dbkit adopts and keeps in step:
 *
 * - plain node-pg-migrate's table (`public.pgmigrations` by default; its --migrations-schema and
 *   --migrations-table): `id serial, name varchar(255), run_on timestamp`, one row per applied
 *   migration, named like dbkit's own tracking;
 * - the Supabase CLI's `supabase_migrations.schema_migrations`: `version text primary key`, plus
 *   `statements text[]` and `name text` (added by later CLI versions), one row per applied file.
 *
 * dbkit writes to it inside each migration's own transaction (the same INSERT and DELETE the tool
 * sends), so a team can go back to the plain tool and find the same history.
 */
import type pg from 'pg';
import { DbkitError, errorMessage } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../db/catalog.js';
import type { FolderFormat } from './files.js';
import type { LoadedMigration } from './load.js';
import { MIGRATIONS_TABLE, TRACKING_SCHEMA } from './tracking.js';

export const HISTORY_KINDS = ['node-pg-migrate', 'supabase'] as const satisfies readonly FolderFormat[];
export type HistoryKind = (typeof HISTORY_KINDS)[number];

export interface HistorySource {
  kind: HistoryKind;
  schema: string;
  table: string;
}

export const SUPABASE_HISTORY: HistorySource = { kind: 'supabase', schema: 'supabase_migrations', table: 'schema_migrations' };

/** The history a folder's tool keeps; null when that would be dbkit's own table. */
export function historySourceFor(format: FolderFormat, settings: { migrationsSchema: string; migrationsTable: string }): HistorySource | null {
  switch (format) {
    case 'supabase':
      return SUPABASE_HISTORY;
    case 'node-pg-migrate':
      if (settings.migrationsSchema === TRACKING_SCHEMA && settings.migrationsTable === MIGRATIONS_TABLE) return null;
      return { kind: 'node-pg-migrate', schema: settings.migrationsSchema, table: settings.migrationsTable };
    default: {
      const unreachable: never = format;
      throw new Error(`unknown folder format ${String(unreachable)}`);
    }
  }
}

export const describeHistory = (source: HistorySource) => `${source.schema}.${source.table}`;

/** The tool that writes a history of this kind, for messages. */
export const TOOL_NAMES: Record<HistoryKind, string> = { 'node-pg-migrate': 'node-pg-migrate', supabase: 'the Supabase CLI' };
const qualified = (source: HistorySource) => `${quoteIdent(source.schema)}.${quoteIdent(source.table)}`;

export interface HistoryEntry {
  /** node-pg-migrate: the migration name; Supabase: the version. */
  key: string;
  appliedAt: string | null;
}

export interface ForeignHistory {
  source: HistorySource;
  exists: boolean;
  /** Columns of the Supabase table that older CLI versions did not create. */
  missingColumns: string[];
  /** In the order the tool applied them (node-pg-migrate: run_on, id; Supabase: version). */
  entries: HistoryEntry[];
}

const compareBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Reads the history; a table that does not exist is an empty, absent history. */
export async function readForeignHistory(client: pg.ClientBase, source: HistorySource): Promise<ForeignHistory> {
  const { rows: columns } = await client.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [source.schema, source.table],
  );
  if (columns.length === 0) return { source, exists: false, missingColumns: [], entries: [] };
  const has = new Set(columns.map((c) => c.name));
  try {
    if (source.kind === 'node-pg-migrate') {
      const { rows } = await client.query<{ key: string; appliedAt: string | null }>(`SELECT name AS key, run_on::text AS "appliedAt" FROM ${qualified(source)} ORDER BY run_on, id`);
      return { source, exists: true, missingColumns: [], entries: rows };
    }
    const { rows } = await client.query<{ key: string }>(`SELECT version::text AS key FROM ${qualified(source)}`);
    return {
      source,
      exists: true,
      missingColumns: ['statements', 'name'].filter((c) => !has.has(c)),
      entries: rows.map((r) => ({ key: r.key, appliedAt: null })).sort((a, b) => compareBytes(a.key, b.key)),
    };
  } catch (error) {
    throw new DbkitError('PREFLIGHT_FAILED', `${describeHistory(source)} cannot be read as ${source.kind === 'supabase' ? "the Supabase CLI's" : "node-pg-migrate's"} migration history: ${errorMessage(error)}`, {
      hint: source.kind === 'supabase' ? 'fix or rename that table. Nothing was changed.' : "point --migrations-schema and --migrations-table at node-pg-migrate's table. Nothing was changed.",
      cause: error,
    });
  }
}

/** The key a migration has in a history of this kind. */
export function historyKeyOf(migration: LoadedMigration, kind: HistoryKind): string {
  if (kind === 'supabase' && migration.source.kind === 'sql' && migration.source.format === 'supabase') return migration.source.version;
  return migration.name;
}

const textArray = (items: readonly string[]) => (items.length === 0 ? `'{}'::text[]` : `ARRAY[${items.map(quoteLiteral).join(', ')}]::text[]`);

/** The Supabase CLI's CreateMigrationTable, for what is missing. */
function supabaseTableSql(history: ForeignHistory): string[] {
  const t = qualified(history.source);
  const add = (column: string) => `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${column === 'statements' ? 'statements text[]' : 'name text'}`;
  if (!history.exists) return [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(history.source.schema)}`, `CREATE TABLE IF NOT EXISTS ${t} (version text NOT NULL PRIMARY KEY)`, add('statements'), add('name')];
  return history.missingColumns.map(add);
}

/**
 * What a migration's transaction sends to keep the history in step: the row the tool inserts
 * when it applies the migration, or deletes when it reverts it. Nothing for a node-pg-migrate
 * table that does not exist (dbkit does not add a table to public); the Supabase table is
 * created as the CLI creates it.
 */
export function historyStepSql(history: ForeignHistory, migration: LoadedMigration, direction: 'up' | 'down'): string[] {
  const t = qualified(history.source);
  const key = historyKeyOf(migration, history.source.kind);
  switch (history.source.kind) {
    case 'node-pg-migrate':
      if (!history.exists) return [];
      return direction === 'up' ? [`INSERT INTO ${t} (name, run_on) VALUES (${quoteLiteral(key)}, NOW())`] : [`DELETE FROM ${t} WHERE name = ${quoteLiteral(key)}`];
    case 'supabase': {
      if (direction === 'down') return history.exists ? [`DELETE FROM ${t} WHERE version = ${quoteLiteral(key)}`] : [];
      const source = migration.source;
      const name = source.kind === 'sql' && source.format === 'supabase' ? source.supabaseName : migration.name;
      const statements = source.kind === 'sql' && source.format === 'supabase' ? source.statements : [];
      return [...supabaseTableSql(history), `INSERT INTO ${t} (version, name, statements) VALUES (${quoteLiteral(key)}, ${quoteLiteral(name)}, ${textArray(statements)})`];
    }
    default: {
      const unreachable: never = history.source.kind;
      throw new Error(`unknown history kind ${String(unreachable)}`);
    }
  }
}
