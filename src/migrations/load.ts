/**
 * Loading migrations (modules with dbkit's one jiti instance, the runner being handed the loaded
 * modules; SQL files as their tool reads them) and rendering them to SQL without running them: the
 * basis of the dry-run plan, of the SQL checksum that catches edits to modules a migration imports
 * (policies/), and of the pre-flight checks of what a migration will send.
 */
import type { ColumnDefinitions, MigrationBuilder } from 'node-pg-migrate';
import { readFileSync } from 'node:fs';
import { loadJiti, loadMigrationBuilder } from '../lazy.js';
import path from 'node:path';
import { DbkitError, errorMessage } from '../errors.js';
import { checksumText, SQL_EXTENSION, type FolderFormat, type MigrationFile } from './files.js';
import { withLegacyKeywordQuoting } from '../core/sql.js';
import { loadSqlParser } from '../core/sql-parse.js';
import { parseSqlMigration, supabaseFileName, supabaseHistoryStatements, transactionControlIn, type SqlPart } from './sql-file.js';
import { checkSteps, describeControl, TRANSACTION_CONTROL_HINT } from './sql-guard.js';

export const DIRECTIONS = ['up', 'down'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export type MigrationAction = (pgm: MigrationBuilder, run?: () => void) => Promise<void> | void;

export interface MigrationModule {
  up: MigrationAction;
  /** false marks a migration its author declared irreversible; undefined lets node-pg-migrate infer the down from the up. */
  down: MigrationAction | false | undefined;
  shorthands: ColumnDefinitions | undefined;
}

/** Whether rollback can revert a migration, decided at pre-flight. */
export type Reversibility = { kind: 'down' } | { kind: 'inferred' } | { kind: 'irreversible'; why: string };

/** Where a migration came from; a Supabase migration carries what the CLI records for it. */
export type MigrationSource =
  | { kind: 'module' }
  | { kind: 'sql'; format: 'node-pg-migrate' }
  | { kind: 'sql'; format: 'supabase'; version: string; supabaseName: string; statements: string[] };

export interface LoadedMigration extends MigrationFile {
  module: MigrationModule;
  source: MigrationSource;
  /** sha256 of the rendered up+down SQL; null when the migration reads the database while building. */
  sqlChecksum: string | null;
  /** Checksums earlier dbkit versions recorded for the same SQL (they count as no drift). */
  compatibleSqlChecksums: readonly string[];
  reversibility: Reversibility;
  /** false: it runs outside a transaction (pgm.noTransaction()); null: unknown until it runs (it reads the database while building). */
  transactional: boolean | null;
  /** Its key in the folder tool's history (the Supabase version); its name when absent. */
  historyKey?: string;
}

const shownPath = (file: MigrationFile, cwd: string) => path.relative(cwd, file.path) || file.path;

export async function loadMigrationModule(file: MigrationFile, cwd = process.cwd()): Promise<MigrationModule> {
  const shown = shownPath(file, cwd);
  const jiti = loadJiti();
  let mod: Record<string, unknown>;
  try {
    mod = (await jiti.import(file.path)) as Record<string, unknown>;
  } catch (error) {
    throw new DbkitError('PREFLIGHT_FAILED', `${shown} cannot be loaded: ${errorMessage(error).split('\n')[0]}`, { cause: error });
  }
  if (typeof mod.up !== 'function') {
    throw new DbkitError('PREFLIGHT_FAILED', `${shown} does not export an up function`, { hint: 'export const up = (pgm: MigrationBuilder) => { ... }' });
  }
  if (mod.down !== undefined && mod.down !== false && typeof mod.down !== 'function') {
    throw new DbkitError('PREFLIGHT_FAILED', `${shown} exports a down that is neither a function nor false`, {
      hint: 'export const down = (pgm) => { ... }, `export const down = false` (irreversible), or no down to let node-pg-migrate infer it',
    });
  }
  return { up: mod.up as MigrationAction, down: mod.down as MigrationAction | false | undefined, shorthands: mod.shorthands as ColumnDefinitions | undefined };
}

export class OfflineQueryError extends Error {
  constructor() {
    super('this migration reads the database while it is being built');
  }
}

/** The subset of node-pg-migrate's DB that a migration can use through pgm.db. */
export interface PlanningDb {
  query(sql: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  select(sql: string, values?: unknown[]): Promise<unknown[]>;
}

const offlineDb: PlanningDb = {
  query: () => Promise.reject(new OfflineQueryError()),
  select: () => Promise.reject(new OfflineQueryError()),
};

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface RenderedMigration {
  statements: string[];
  transactional: boolean;
}

export async function invokeAction(action: MigrationAction, pgm: MigrationBuilder): Promise<void> {
  if (action.length === 2) await new Promise<void>((resolve, reject) => Promise.resolve(action(pgm, resolve)).catch(reject));
  else await action(pgm);
}

/**
 * Builds the SQL a migration would send, without sending it. A module without a down renders the
 * down node-pg-migrate infers: its up replayed in reverse mode (which throws for a builder call
 * that has no inverse, and for any use of pgm.db).
 */
export async function renderMigration(module: MigrationModule, direction: Direction, db: PlanningDb = offlineDb): Promise<RenderedMigration> {
  const action = direction === 'up' ? module.up : module.down;
  if (action === false) return { statements: [], transactional: true };
  const MigrationBuilder = await loadMigrationBuilder();
  // Migrations build policy SQL with createPolicySql, which checks it with PostgreSQL's parser.
  await loadSqlParser();
  // node-pg-migrate's DB type is wider than what a builder uses; pgm.db only forwards query/select.
  const pgm = new MigrationBuilder(db as never, module.shorthands, false, silentLogger);
  if (action === undefined) pgm.enableReverseMode();
  await invokeAction(action ?? module.up, pgm);
  return { statements: pgm.getSqlSteps(), transactional: pgm.isUsingTransaction() };
}

const cannotInfer = (error: unknown) => error instanceof Error && error.message.startsWith('Impossible to automatically infer down migration');

/** Renders a module once per direction: loading needs each render up to three times (reversibility, checksum, transaction checks). */
function onceRenderer(module: MigrationModule): (direction: Direction) => Promise<RenderedMigration> {
  const renders = new Map<Direction, Promise<RenderedMigration>>();
  return (direction) => {
    let render = renders.get(direction);
    if (!render) {
      render = renderMigration(module, direction);
      render.catch(() => {});
      renders.set(direction, render);
    }
    return render;
  };
}

type Render = (direction: Direction) => Promise<RenderedMigration>;

async function reversibilityOf(module: MigrationModule, source: MigrationSource, render: Render): Promise<Reversibility> {
  if (source.kind === 'sql' && source.format === 'supabase') return { kind: 'irreversible', why: 'Supabase CLI migrations are up-only' };
  if (module.down === false) {
    return { kind: 'irreversible', why: source.kind === 'sql' ? 'it has no "-- Down Migration" section' : 'declared irreversible: export const down = false' };
  }
  if (typeof module.down === 'function') return { kind: 'down' };
  try {
    await render('down');
    return { kind: 'inferred' };
  } catch (error) {
    // node-pg-migrate's message names the call as "pgm.()" (its operations are anonymous): say what it means instead.
    if (cannotInfer(error)) return { kind: 'irreversible', why: 'it has no down, and node-pg-migrate cannot infer one: its up makes a call without an inverse (such as pgm.sql()) or reads pgm.db' };
    throw error;
  }
}

/** The text the SQL checksum is taken of: the rendered up and down; null when the migration reads the database while building. */
async function checksummedText(module: MigrationModule, reversible = true, render: Render = (direction) => renderMigration(module, direction)): Promise<string | null> {
  try {
    const up = await render('up');
    const down = reversible ? await render('down') : { statements: [] };
    return `${up.statements.join('\n')}\n-- down --\n${down.statements.join('\n')}`;
  } catch (error) {
    if (error instanceof OfflineQueryError) return null;
    throw error;
  }
}

export async function sqlChecksumOf(module: MigrationModule, reversible = true): Promise<string | null> {
  const text = await checksummedText(module, reversible);
  return text === null ? null : checksumText(text);
}

/**
 * Checksums an earlier dbkit recorded for this same SQL: up to 0.1, names that are keywords were
 * written bare (`public.user`, now `public."user"`). A database applied then must not report
 * drift because dbkit's quoting became exact.
 */
function compatibleChecksums(text: string | null, current: string | null): string[] {
  if (text === null) return [];
  const legacy = checksumText(withLegacyKeywordQuoting(text));
  return legacy === current ? [] : [legacy];
}

const sqlAction = (part: SqlPart): MigrationAction => (pgm) => {
  for (const statement of part.statements) pgm.sql(statement.text);
};

/** A SQL file as a node-pg-migrate module (one pgm.sql per statement, so a failure names its statement). */
function loadSqlFile(file: MigrationFile, format: FolderFormat, shown: string): { module: MigrationModule; source: MigrationSource } {
  const content = readFileSync(file.path, 'utf8');
  if (checksumText(content) !== file.fileChecksum) throw new DbkitError('PREFLIGHT_FAILED', `${shown} changed while dbkit was reading the migrations folder`, { hint: 'run the command again' });
  const parsed = parseSqlMigration(content, format);
  if (!parsed.ok) {
    throw new DbkitError('PREFLIGHT_FAILED', `${shown}:${parsed.line}: ${parsed.direction === 'down' ? 'the down section ' : ''}cannot be read: ${parsed.message}`, { hint: 'fix the SQL; nothing was changed' });
  }
  for (const part of [parsed.up, parsed.down]) {
    const found = part ? transactionControlIn(part.statements) : null;
    if (found?.transaction) {
      throw new DbkitError('PREFLIGHT_FAILED', `${shown}:${found.line}: ${describeControl({ step: 1, statement: found.text, control: found.transaction }).replace(/ in step 1:/, ':')}`, {
        hint: 'dbkit runs each migration in one transaction of its own (a BEGIN ... COMMIT around the whole file is fine): remove the statement, or split the file. Nothing was changed.',
      });
    }
  }
  const module: MigrationModule = { up: sqlAction(parsed.up), down: parsed.down ? sqlAction(parsed.down) : false, shorthands: undefined };
  if (format === 'node-pg-migrate') return { module, source: { kind: 'sql', format } };
  const name = supabaseFileName(path.basename(file.path))!;
  return { module, source: { kind: 'sql', format, version: name.version, supabaseName: name.name, statements: supabaseHistoryStatements(content) ?? [] } };
}

/** Refuses SQL that would end dbkit's transaction; says whether the migration runs in one. */
async function checkRendered(render: Render, reversibility: Reversibility, shown: string): Promise<boolean | null> {
  let transactional = true;
  for (const direction of DIRECTIONS) {
    if (direction === 'down' && reversibility.kind === 'irreversible') continue;
    let rendered: RenderedMigration;
    try {
      rendered = await render(direction);
    } catch (error) {
      if (error instanceof OfflineQueryError) return null;
      throw error;
    }
    const check = checkSteps(rendered.statements);
    if (check.control) {
      throw new DbkitError('PREFLIGHT_FAILED', `${shown}: its ${direction} ${describeControl(check.control)}`, { hint: TRANSACTION_CONTROL_HINT });
    }
    if (!rendered.transactional && check.unparsable.length > 0) {
      const bad = check.unparsable[0]!;
      throw new DbkitError('PREFLIGHT_FAILED', `${shown}: its ${direction} runs outside a transaction (pgm.noTransaction()) and step ${bad.step} cannot be parsed: ${bad.message}`, {
        hint: 'outside a transaction the steps before it would stay applied when it fails: fix the SQL first. Nothing was changed.',
      });
    }
    if (direction === 'up') transactional = rendered.transactional;
  }
  return transactional;
}

/**
 * Loads every migration of a folder, in order. Type shorthands accumulate over the folder as
 * node-pg-migrate's runner accumulates them, so renders here match what the runner builds.
 */
export async function loadMigrations(files: MigrationFile[], cwd = process.cwd(), format: FolderFormat = 'node-pg-migrate'): Promise<LoadedMigration[]> {
  await loadSqlParser();
  const loaded: LoadedMigration[] = [];
  let shorthands: ColumnDefinitions = {};
  for (const file of files) {
    const shown = shownPath(file, cwd);
    const isSql = path.extname(file.path) === SQL_EXTENSION;
    const { module: own, source } = isSql ? loadSqlFile(file, format, shown) : { module: await loadMigrationModule(file, cwd), source: { kind: 'module' } as const };
    shorthands = { ...shorthands, ...own.shorthands };
    const module: MigrationModule = { ...own, shorthands: { ...shorthands } };
    let text: string | null;
    let reversibility: Reversibility;
    let transactional: boolean | null;
    try {
      const render = onceRenderer(module);
      reversibility = await reversibilityOf(module, source, render);
      text = await checksummedText(module, reversibility.kind !== 'irreversible', render);
      transactional = await checkRendered(render, reversibility, shown);
    } catch (error) {
      if (error instanceof DbkitError) throw error;
      throw new DbkitError('PREFLIGHT_FAILED', `${shown} fails while building its SQL: ${errorMessage(error).split('\n')[0]}`, { cause: error });
    }
    const sqlChecksum = text === null ? null : checksumText(text);
    loaded.push({ ...file, module, source, sqlChecksum, compatibleSqlChecksums: compatibleChecksums(text, sqlChecksum), reversibility, transactional });
  }
  return loaded;
}
