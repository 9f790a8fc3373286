/**
 * Pure planning: from the migration files, what dbkit's tracking says was applied and what the
 * history of the folder's own tool says (node-pg-migrate's table, Supabase's), work out what is
 * applied, what is to be adopted, what is pending, what drifted, and what is out of order.
 */
import type { AppliedMigration } from './tracking.js';

export interface PlannableMigration {
  name: string;
  fileChecksum: string;
  sqlChecksum: string | null;
  /** Checksums earlier dbkit versions recorded for the same SQL (see migrations/load.ts). */
  compatibleSqlChecksums?: readonly string[];
  /** The migration's key in the foreign history (the Supabase version); its name when absent. */
  historyKey?: string;
}

export const DRIFT_KINDS = ['file-edited', 'sql-changed', 'file-missing'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface Drift {
  name: string;
  kind: DriftKind;
  message: string;
}

/** The history another tool wrote, as planning needs it. */
export interface ForeignHistoryView {
  /** Where it is, for messages: public.pgmigrations, supabase_migrations.schema_migrations. */
  table: string;
  /** Keys in the order the tool applied them. */
  keys: string[];
  appliedAt: (string | null)[];
}

export interface AdoptEntry {
  name: string;
  /** When the other tool applied it, if it recorded that. */
  appliedAt: string | null;
}

export interface OutOfOrder {
  /** The pending migration. */
  name: string;
  /** The applied migration it sorts before. */
  before: string;
}

export interface MigrationPlan<M extends PlannableMigration> {
  /** Applied, in the order they were applied: dbkit's tracking, then what is adopted from the foreign history. */
  applied: string[];
  pending: M[];
  drift: Drift[];
  /** Applied before dbkit tracked checksums: recorded on the next apply. */
  unrecorded: string[];
  /** Applied by the folder's own tool and not yet in dbkit's tracking: recorded (adopted) first by apply and rollback. */
  adopt: AdoptEntry[];
  /** In dbkit's tracking but not in the foreign history, which dbkit keeps in step: someone went around one of them. */
  historyConflicts: string[];
  /** Pending migrations that sort before an applied one: node-pg-migrate and the Supabase CLI refuse to run them. */
  outOfOrder: OutOfOrder[];
}

export function describeDrift(kind: DriftKind): string {
  switch (kind) {
    case 'file-edited':
      return 'the file was edited after it was applied';
    case 'sql-changed':
      return 'the file is unchanged but the SQL it builds changed (a module it imports, such as policies/, was edited)';
    case 'file-missing':
      return 'it is applied but its file is gone';
  }
}

function reconcile<M extends PlannableMigration>(files: readonly M[], tracked: ReadonlySet<string>, foreign: ForeignHistoryView | null, drift: Drift[]) {
  const adopt: AdoptEntry[] = [];
  const historyConflicts: string[] = [];
  if (!foreign) return { adopt, historyConflicts };
  const byKey = new Map(files.map((f) => [f.historyKey ?? f.name, f]));
  const foreignNames = new Set<string>();
  foreign.keys.forEach((key, i) => {
    const file = byKey.get(key);
    if (!file) {
      if (!tracked.has(key)) drift.push({ name: key, kind: 'file-missing', message: `${key}: recorded as applied in ${foreign.table} but has no migration file` });
      return;
    }
    foreignNames.add(file.name);
    if (!tracked.has(file.name)) adopt.push({ name: file.name, appliedAt: foreign.appliedAt[i] ?? null });
  });
  for (const name of tracked) if (!foreignNames.has(name)) historyConflicts.push(name);
  // Adopt in the folder's order, which is the order the tool applied them in.
  const order = new Map(files.map((f, i) => [f.name, i]));
  adopt.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  return { adopt, historyConflicts };
}

/**
 * `foreign` is the other tool's history when it exists (null: none to adopt or keep in step).
 */
export function planMigrations<M extends PlannableMigration>(files: readonly M[], applied: readonly AppliedMigration[], foreign: ForeignHistoryView | null = null): MigrationPlan<M> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const drift: Drift[] = [];
  const unrecorded: string[] = [];
  for (const row of applied) {
    const file = byName.get(row.name);
    let kind: DriftKind | null = null;
    if (!file) kind = 'file-missing';
    else if (row.fileChecksum === null) unrecorded.push(row.name);
    else if (row.fileChecksum !== file.fileChecksum) kind = 'file-edited';
    else if (row.sqlChecksum !== null && file.sqlChecksum !== null && row.sqlChecksum !== file.sqlChecksum && !file.compatibleSqlChecksums?.includes(row.sqlChecksum)) kind = 'sql-changed';
    if (kind) drift.push({ name: row.name, kind, message: `${row.name}: ${describeDrift(kind)}` });
  }
  const tracked = new Set(applied.map((a) => a.name));
  const { adopt, historyConflicts } = reconcile(files, tracked, foreign, drift);
  const appliedNames = [...applied.map((a) => a.name), ...adopt.map((a) => a.name)];
  const isApplied = new Set(appliedNames);
  const pending = files.filter((f) => !isApplied.has(f.name));
  const outOfOrder: OutOfOrder[] = [];
  let nextApplied: string | null = null;
  for (let i = files.length - 1; i >= 0; i -= 1) {
    const f = files[i]!;
    if (isApplied.has(f.name)) nextApplied = f.name;
    else if (nextApplied) outOfOrder.unshift({ name: f.name, before: nextApplied });
  }
  return { applied: appliedNames, pending, drift, unrecorded, adopt, historyConflicts, outOfOrder };
}
