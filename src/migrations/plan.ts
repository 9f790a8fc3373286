/**
 * Pure planning: from the migration files and what the database says was applied, work out what
 * is pending, what drifted, and what is out of order.
 */
import type { AppliedMigration } from './tracking.js';

export interface PlannableMigration {
  name: string;
  fileChecksum: string;
  sqlChecksum: string | null;
  /** Checksums earlier dbkit versions recorded for the same SQL (see migrations/load.ts). */
  compatibleSqlChecksums?: readonly string[];
}

export const DRIFT_KINDS = ['file-edited', 'sql-changed', 'file-missing'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface Drift {
  name: string;
  kind: DriftKind;
  message: string;
}

export interface MigrationPlan<M extends PlannableMigration> {
  applied: string[];
  pending: M[];
  drift: Drift[];
  /** Applied before dbkit tracked checksums (plain node-pg-migrate): recorded on the next apply. */
  unrecorded: string[];
  /** Pending migrations that sort before an applied one: node-pg-migrate refuses to run them. */
  outOfOrder: string[];
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

export function planMigrations<M extends PlannableMigration>(files: readonly M[], applied: readonly AppliedMigration[]): MigrationPlan<M> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const appliedNames = new Set(applied.map((a) => a.name));
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
  const pending = files.filter((f) => !appliedNames.has(f.name));
  const lastAppliedIndex = files.reduce((last, f, i) => (appliedNames.has(f.name) ? i : last), -1);
  const outOfOrder = pending.filter((f) => files.indexOf(f) < lastAppliedIndex).map((f) => f.name);
  return { applied: applied.map((a) => a.name), pending, drift, unrecorded, outOfOrder };
}
