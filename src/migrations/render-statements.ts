/**
 * Renders a typed migration to statements through node-pg-migrate's own builder, remembering for
 * every SQL step which `pgm.<method>()` call produced it and where that call is in the migration
 * file (the innermost stack frame inside the file, so a helper's pgm.sql() is attributed to the
 * line of the migration that called the helper).
 */
import { loadMigrationBuilder } from '../lazy.js';
import type { Direction, LoadedMigration, PlanningDb } from './load.js';
import { invokeAction, OfflineQueryError } from './load.js';
import { initSqlParser, splitStatements, type MigrationSql, type MigrationStatement, type StatementOrigin } from './statements.js';

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
/** Builder members that produce no SQL. */
const NOT_OPERATIONS = new Set(['db', 'func', 'noTransaction', 'isUsingTransaction', 'getSql', 'getSqlSteps', 'enableReverseMode', 'constructor']);

const offlineDb: PlanningDb = {
  query: () => Promise.reject(new OfflineQueryError()),
  select: () => Promise.reject(new OfflineQueryError()),
};

export function callSite(stack: string | undefined, file: string): { line: number | null; column: number | null } {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const at = line.lastIndexOf(file);
    if (at < 0) continue;
    const match = /:(\d+):(\d+)\)?\s*$/.exec(line.slice(at + file.length));
    if (match) return { line: Number(match[1]), column: Number(match[2]) };
  }
  return { line: null, column: null };
}

/**
 * The statements `migration` sends in `direction`. `db` is what pgm.db reads while the migration
 * is built (a migration that reads the database needs a real one).
 */
export async function renderStatements(migration: Pick<LoadedMigration, 'name' | 'path' | 'module'>, direction: Direction = 'up', db: PlanningDb = offlineDb): Promise<MigrationSql> {
  const action = direction === 'up' ? migration.module.up : migration.module.down;
  const result: MigrationSql = { name: migration.name, file: migration.path, transactional: true, statements: [] };
  if (action === false) return result;
  await initSqlParser();
  const MigrationBuilder = await loadMigrationBuilder();
  const pgm = new MigrationBuilder(db as never, migration.module.shorthands, false, silentLogger);
  // No down: the one node-pg-migrate infers, its up replayed in reverse mode (as renderMigration does).
  if (action === undefined) pgm.enableReverseMode();
  const calls: { from: number; to: number; origin: StatementOrigin }[] = [];
  const record = pgm as unknown as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const member = record[key];
    if (NOT_OPERATIONS.has(key) || typeof member !== 'function') continue;
    const operation = member as (...args: unknown[]) => unknown;
    record[key] = (...args: unknown[]) => {
      const from = pgm.getSqlSteps().length;
      const value = operation(...args);
      const site = callSite(new Error().stack, migration.path);
      calls.push({ from, to: pgm.getSqlSteps().length, origin: { kind: 'call', file: migration.path, method: key, ...site } });
      return value;
    };
  }
  await invokeAction(action ?? migration.module.up, pgm);
  const steps = pgm.getSqlSteps();
  const statements: MigrationStatement[] = [];
  steps.forEach((step, stepIndex) => {
    const origin = calls.find((c) => stepIndex >= c.from && stepIndex < c.to)?.origin ?? { kind: 'call', file: migration.path, method: 'sql', line: null, column: null };
    for (const piece of splitStatements(step)) statements.push({ index: statements.length, sql: piece.sql, origin });
  });
  result.statements = statements;
  result.transactional = pgm.isUsingTransaction();
  return result;
}
