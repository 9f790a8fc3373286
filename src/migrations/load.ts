/**
 * Loading migration modules (with dbkit's one jiti instance; the runner is handed the loaded
 * modules) and rendering them to SQL without running them: the basis of the dry-run plan
 * and of the SQL checksum that catches edits to modules a migration imports (policies/).
 */
import type { ColumnDefinitions, MigrationBuilder } from 'node-pg-migrate';
import { loadJiti, loadMigrationBuilder } from '../lazy.js';
import path from 'node:path';
import { DbkitError, errorMessage } from '../errors.js';
import { checksumText, type MigrationFile } from './files.js';

export const DIRECTIONS = ['up', 'down'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export type MigrationAction = (pgm: MigrationBuilder, run?: () => void) => Promise<void> | void;

export interface MigrationModule {
  up: MigrationAction;
  /** false marks a migration its author declared irreversible. */
  down: MigrationAction | false;
  shorthands: ColumnDefinitions | undefined;
}

export interface LoadedMigration extends MigrationFile {
  module: MigrationModule;
  /** sha256 of the rendered up+down SQL; null when the migration reads the database while building. */
  sqlChecksum: string | null;
}

export async function loadMigrationModule(file: MigrationFile, cwd = process.cwd()): Promise<MigrationModule> {
  const shown = path.relative(cwd, file.path) || file.path;
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
  if (mod.down !== false && typeof mod.down !== 'function') {
    throw new DbkitError('PREFLIGHT_FAILED', `${shown} has no down: every migration needs a real down`, {
      hint: 'export const down = (pgm) => { ... } (or `export const down = false` to declare it irreversible)',
    });
  }
  return { up: mod.up as MigrationAction, down: mod.down as MigrationAction | false, shorthands: mod.shorthands as ColumnDefinitions | undefined };
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

/** Builds the SQL a migration would send, without sending it. */
export async function renderMigration(module: MigrationModule, direction: Direction, db: PlanningDb = offlineDb): Promise<RenderedMigration> {
  const action = module[direction];
  if (action === false) return { statements: [], transactional: true };
  const MigrationBuilder = await loadMigrationBuilder();
  // node-pg-migrate's DB type is wider than what a builder uses; pgm.db only forwards query/select.
  const pgm = new MigrationBuilder(db as never, module.shorthands, false, silentLogger);
  if (action.length === 2) await new Promise<void>((resolve, reject) => Promise.resolve(action(pgm, resolve)).catch(reject));
  else await action(pgm);
  return { statements: pgm.getSqlSteps(), transactional: pgm.isUsingTransaction() };
}

export async function sqlChecksumOf(module: MigrationModule): Promise<string | null> {
  try {
    const up = await renderMigration(module, 'up');
    const down = await renderMigration(module, 'down');
    return checksumText(`${up.statements.join('\n')}\n-- down --\n${down.statements.join('\n')}`);
  } catch (error) {
    if (error instanceof OfflineQueryError) return null;
    throw error;
  }
}

export async function loadMigrations(files: MigrationFile[], cwd = process.cwd()): Promise<LoadedMigration[]> {
  const loaded: LoadedMigration[] = [];
  for (const file of files) {
    const module = await loadMigrationModule(file, cwd);
    let sqlChecksum: string | null;
    try {
      sqlChecksum = await sqlChecksumOf(module);
    } catch (error) {
      const shown = path.relative(cwd, file.path) || file.path;
      throw new DbkitError('PREFLIGHT_FAILED', `${shown} fails while building its SQL: ${errorMessage(error).split('\n')[0]}`, { cause: error });
    }
    loaded.push({ ...file, module, sqlChecksum });
  }
  return loaded;
}
