/**
 * SQL migration files as their tools read them. Pure (the statement split needs the parser
 * loaded: `loadSqlParser()`), so that apply, status, rollback and later lint/rehearse share it.
 *
 * - node-pg-migrate's SQL format (its legacy `sqlMigration` loader, the default for `.sql`): an
 *   optional `-- Up Migration` section and an optional `-- Down Migration` section, found by the
 *   same expression node-pg-migrate uses; no down section means the migration is irreversible.
 * - Supabase CLI migrations (`supabase/migrations/<version>_<name>.sql`): the whole file is the
 *   up; there is no down. The CLI records each file in supabase_migrations.schema_migrations
 *   (version, name, and the file cut into statements).
 */
import { splitSql, type SqlStatement } from '../core/sql-split.js';

export const SQL_FORMATS = ['node-pg-migrate', 'supabase'] as const;
export type SqlFormat = (typeof SQL_FORMATS)[number];

// node-pg-migrate, src/sqlMigration.ts: createMigrationCommentRegex(direction).
const marker = (direction: 'up' | 'down') => new RegExp(`^\\s*--[\\s-]*${direction}\\s+migration`, 'im');

export interface SqlSection {
  text: string;
  /** Lines of the file before the section (to report file lines). */
  lineOffset: number;
}

export interface SqlSections {
  up: SqlSection;
  /** null: the file has no down section (node-pg-migrate declares the down `false`). */
  down: SqlSection | null;
  /** A down marker without an up marker: node-pg-migrate then runs the whole file, down included, as the up. */
  downInsideUp: boolean;
}

const section = (content: string, start: number, end: number | undefined): SqlSection => ({ text: content.slice(start, end), lineOffset: content.slice(0, start).split('\n').length - 1 });

/** Exactly node-pg-migrate's split of a SQL migration into up and down text (markers included, as it sends them). */
export function nodePgMigrateSections(content: string): SqlSections {
  const upStart = content.search(marker('up'));
  const downStart = content.search(marker('down'));
  const up = upStart >= 0 ? section(content, upStart, downStart < upStart ? undefined : downStart) : section(content, 0, undefined);
  const down = downStart >= 0 ? section(content, downStart, upStart < downStart ? undefined : upStart) : null;
  return { up, down, downInsideUp: upStart < 0 && downStart >= 0 };
}

export interface SupabaseFileName {
  version: string;
  name: string;
}

// supabase/cli, pkg/migration/file.go: migrateFilePattern.
const SUPABASE_FILE = /^([0-9]+)_(.*)\.sql$/s;

/** The version and name the Supabase CLI reads from a migration's file name; null when it skips the file. */
export function supabaseFileName(fileName: string): SupabaseFileName | null {
  const match = SUPABASE_FILE.exec(fileName);
  return match ? { version: match[1]!, name: match[2]! } : null;
}

/**
 * The CLI skips a first file named `<14 digits>_init.sql` older than 2021-12-09 (a schema dump
 * written by early versions of `supabase init`), saying so.
 */
export function supabaseSkipsAsInit(fileName: string): boolean {
  const match = /([0-9]{14})_init\.sql/.exec(fileName);
  return match !== null && Number(match[1]) < 20211209000000;
}

export interface SqlPart {
  /** The statements to send, in order; transaction control of a whole-file wrapper removed. */
  statements: SqlStatement[];
  /** The part was wrapped in BEGIN ... COMMIT, which dbkit's own transaction replaces. */
  unwrapped: boolean;
}

export type ParsedSqlMigration =
  | { ok: true; up: SqlPart; down: SqlPart | null }
  | { ok: false; direction: 'up' | 'down'; message: string; line: number };

/**
 * A file's SQL as a sequence of statements. A leading BEGIN (or START TRANSACTION) with a
 * trailing COMMIT (or END) around all of it is dropped: dbkit runs the migration in one
 * transaction of its own, which gives the same atomicity. Any other transaction control stays,
 * for the pre-flight to refuse.
 */
export function sqlPart(text: string, lineOffset = 0): { ok: true; part: SqlPart } | { ok: false; message: string; line: number } {
  const split = splitSql(text);
  if (!split.ok) return { ok: false, message: split.message, line: split.line + lineOffset };
  let statements = split.statements.map((s) => ({ ...s, line: s.line + lineOffset }));
  const first = statements[0];
  const last = statements.at(-1);
  const unwrapped = statements.length >= 2 && first?.transaction === 'begin' && last?.transaction === 'commit';
  if (unwrapped) statements = statements.slice(1, -1);
  return { ok: true, part: { statements, unwrapped } };
}

/** Parses a SQL migration file as its tool reads it. */
export function parseSqlMigration(content: string, format: SqlFormat): ParsedSqlMigration {
  const sections: SqlSections = format === 'supabase' ? { up: section(content, 0, undefined), down: null, downInsideUp: false } : nodePgMigrateSections(content);
  if (sections.downInsideUp) {
    return { ok: false, direction: 'up', message: 'it has a "-- Down Migration" section but no "-- Up Migration" marker, so node-pg-migrate would run the down as part of the up; put "-- Up Migration" above the up SQL', line: 1 };
  }
  const up = sqlPart(sections.up.text, sections.up.lineOffset);
  if (!up.ok) return { ok: false, direction: 'up', message: up.message, line: up.line };
  if (sections.down === null) return { ok: true, up: up.part, down: null };
  const down = sqlPart(sections.down.text, sections.down.lineOffset);
  if (!down.ok) return { ok: false, direction: 'down', message: down.message, line: down.line };
  return { ok: true, up: up.part, down: down.part };
}

/**
 * The `statements` column the Supabase CLI writes for a file: its split of the whole file, each
 * statement with trailing semicolons and surrounding white space trimmed, comments kept (a
 * trailing comment becomes a statement of its own, as in the CLI). null when the file does not parse.
 */
export function supabaseHistoryStatements(content: string): string[] | null {
  const split = splitSql(content);
  if (!split.ok) return null;
  return [...split.statements.map((s) => s.text), split.trailing].filter((s) => s !== '');
}

/** The first statement that ends or starts a transaction, if any: refused inside a migration. */
export function transactionControlIn(statements: readonly SqlStatement[]): SqlStatement | null {
  return statements.find((s) => s.transaction !== null) ?? null;
}
