/**
 * What dbkit rls-audit reports (the library's return value and the --json document): shared by the
 * command and the human rendering, so it sits below both.
 */
import type { DatabaseTarget } from '../db/target.js';
import type { ErrorDocument } from '../output/errors.js';
import type { Residue } from './impersonate.js';
import type { MatrixCell } from './matrix.js';
import type { FailOn, Finding } from './model.js';
import type { Absent } from './coverage.js';
import type { SnapshotDiff } from './snapshot.js';
import type { MatrixTenancy } from './infer-print.js';
import type { Unseedable } from './seed.js';

export interface AuditReport {
  command: 'rls-audit';
  ok: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  server: { version: string; versionNum: number };
  findings: Finding[];
  /** unverified: declarations whose expressions the role may not compile (info findings, not drift). */
  drift: { source: string | null; compared: number; unverified: number; skipped: string | null };
  matrix: MatrixCell[];
  matrixSource: string | null;
  matrixSkipped: string | null;
  /** Where the matrix's tenancy map came from (declared in policies/, or inferred), with the inference's notes. */
  tenancy: MatrixTenancy | null;
  /** Tables the matrix could not seed, with the constraint that stopped it (their cells are not probed). */
  unseedable: Unseedable[];
  residue: Residue | null;
  /** Why drift and the matrix were skipped when the policies folder describes another schema (null when it describes this one). */
  notice: string | null;
  /** The tables and API roles the policies folder names that the database does not have. */
  absent: Absent;
  /** What changed since the --diff snapshot (null without --diff). */
  diff: (SnapshotDiff & { file: string }) | null;
  /** Files written: --snapshot, --export-pgtap (with its number of tests). */
  written: { snapshot: string | null; pgtap: { file: string; tests: number } | null };
  summary: {
    errors: number; warnings: number; info: number; drift: number; rules: number; tables: number; policies: number;
    matrixCells: number; leaks: number; blocked: number; probeErrors: number; unseedable: number; failOn: FailOn; durationMs: number;
  };
  error: ErrorDocument | null;
}
