/** What a rehearsal observed, per statement and per migration. Data only. */
import type { LintFinding } from '../lint/model.js';
import type { StatementOrigin } from '../migrations/statements.js';
import type { LockMode } from './locks.js';

export const OBSERVERS = ['snapshot', 'poll'] as const;
/** snapshot: pg_locks read inside the migration's transaction after the statement; poll: a second connection reading pg_locks for the migrating backend while it ran. */
export type Observer = (typeof OBSERVERS)[number];

export interface RelationRef {
  oid: number;
  /** schema.name, or "oid 12345" when it no longer exists. */
  name: string;
  kind: 'table' | 'index' | 'sequence' | 'view' | 'other';
  /** Created by this migration: nobody else can be using it, so its locks stall nothing. */
  createdHere: boolean;
}

export interface LockHeld {
  mode: LockMode;
  relation: RelationRef;
  /** From the start of the statement that took it to the end of its transaction (the COMMIT). */
  heldMs: number;
  statementIndex: number;
  observedBy: Observer[];
  /** The poller saw the request waiting (granted = false) at least once. */
  waited: boolean;
}

export interface Rewrite {
  relation: RelationRef;
  /** Rows the rewrite read per scan (pg_stat tuples read / seq scans), when the relation is a table. */
  rows: number | null;
}

export interface FullScan {
  relation: RelationRef;
  scans: number;
  /** Rows read per scan (pg_stat tuples read / seq scans). */
  rows: number;
}

export interface StatementRehearsal {
  index: number;
  sql: string;
  origin: StatementOrigin;
  /** The parse-tree node, e.g. AlterTableStmt:AT_AddColumn. */
  kind: string;
  durationMs: number;
  locks: LockHeld[];
  rewrites: Rewrite[];
  scans: FullScan[];
  /** How full scans were measured. */
  scanMeasure: 'pg_stat_xact_user_tables' | 'pg_stat_user_tables' | 'not measured';
  lint: LintFinding[];
  advice: string[];
  error: string | null;
}

export interface TrafficResult {
  table: string;
  writerStallMs: number | null;
  readerStallMs: number | null;
  writerOps: number;
  readerOps: number;
  /** Why a loop could not run or stopped (e.g. no column a writer can update). */
  notes: string[];
}

export const REHEARSAL_STATUSES = ['rehearsed', 'failed', 'skipped'] as const;
export type RehearsalStatus = (typeof REHEARSAL_STATUSES)[number];

export interface MigrationRehearsal {
  name: string;
  file: string;
  transactional: boolean;
  status: RehearsalStatus;
  durationMs: number;
  statements: StatementRehearsal[];
  traffic: TrafficResult[] | null;
  /** The report lines, e.g. "ACCESS EXCLUSIVE on public.contents for 2.4 s (rewrite, 1,000,000 rows); writers stalled 2.5 s, readers 2.5 s". */
  summary: string[];
  skippedReason: string | null;
  error: string | null;
}
