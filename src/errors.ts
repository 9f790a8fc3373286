/**
 * One error type for everything dbkit reports to a user, with a stable code per failure class.
 * The exit code of the process is a documented contract derived from the code (see README
 * "Exit codes", generated from ERROR_CODES).
 */

export const ERROR_CODES = {
  INTERNAL: { exit: 1, summary: 'Unexpected internal error (a bug in dbkit: please report it with the output).' },
  USAGE: { exit: 2, summary: 'Bad flag, argument, environment variable or config file value.' },
  DB_URL_INVALID: { exit: 3, summary: 'The database URL cannot be parsed.' },
  DB_UNREACHABLE: { exit: 4, summary: 'The database server cannot be reached (refused, unknown host, timeout, TLS).' },
  DB_AUTH_FAILED: { exit: 5, summary: 'The server rejected the user name or password.' },
  DB_NOT_FOUND: { exit: 6, summary: 'The database named in the URL does not exist on the server.' },
  PREFLIGHT_FAILED: { exit: 7, summary: 'Pre-flight check failed: server too old, missing privileges or a bad migrations folder. Nothing was changed.' },
  DRIFT: { exit: 8, summary: 'An applied migration file was edited or deleted after it was applied. Nothing was changed.' },
  LOCK_BUSY: { exit: 9, summary: 'Another dbkit operation holds the migration lock and did not finish within --lock-wait (nothing was changed), or changed the applied migrations under this run (the migration it stopped at did not run; earlier ones of the run stay applied).' },
  BACKUP_FAILED: { exit: 10, summary: 'The backup could not be taken or verified, so nothing was applied.' },
  MIGRATION_FAILED: { exit: 11, summary: 'A migration failed and was rolled back; earlier migrations of the run stay applied.' },
  VALIDATION_FAILED: { exit: 12, summary: 'The database does not match the expectations declared beside the migrations.' },
  EMBEDDED_FAILED: { exit: 13, summary: 'The embedded PostgreSQL cluster could not be initialised, started or stopped.' },
  CONFIRMATION_REQUIRED: { exit: 14, summary: 'A destructive command needs confirmation: answer the prompt or pass --yes.' },
  NOT_FOUND: { exit: 15, summary: 'A named thing (backup id, migration, project) does not exist.' },
  NOT_APPLIED: { exit: 16, summary: 'rollback --to names a migration that exists but is not applied, so there is nothing to roll back to. Nothing was changed.' },
  ROLLBACK_TOO_FAR: { exit: 17, summary: 'rollback --count asks to revert more migrations than are applied. Nothing was changed.' },
  PG_TOOLS_MISSING: { exit: 18, summary: 'No pg_dump/pg_restore at least as new as the server (or the archive) was found. Nothing was changed.' },
  BACKUP_CORRUPT: { exit: 19, summary: 'The backup is missing, truncated, corrupted or differs from its manifest; found before anything was restored.' },
  RESTORE_FAILED: { exit: 20, summary: 'The restore could not be completed; it was rolled back and the live database was not touched.' },
  RESTORE_MISMATCH: { exit: 21, summary: 'The restored data did not match the manifest (schema fingerprint or row counts), so it was discarded; the live database was not touched.' },
  RLS_AUDIT_FAILED: { exit: 22, summary: 'rls-audit found a finding at or above --fail-on, policy drift, or a leak in the isolation matrix.' },
  TESTS_FAILED: { exit: 23, summary: 'dbkit test: a pgTAP assertion failed, or a test file died, bailed out or did not match its plan.' },
  PGTAP_UNAVAILABLE: { exit: 24, summary: 'pgTAP is not installed on the database server and dbkit could not provision it.' },
  COURSE_INVALID: { exit: 25, summary: 'A course folder is malformed (bad or oversized YAML, a listed lesson file missing, duplicate slugs, a file that leads outside the folder, is not a regular file or not UTF-8); it was not written, the other courses were.' },
  MISMATCH: { exit: 26, summary: 'dbkit verify found the course folders and the database disagree (missing, extra or changed contents, wrong parent or order).' },
  INTEGRITY: { exit: 27, summary: 'dbkit monitor found hierarchy problems (orphans, cycles, lessons outside modules) or tables without RLS.' },
  HISTORY_CONFLICT: { exit: 28, summary: "dbkit's tracking and the history the folder's own tool keeps (node-pg-migrate's table, supabase_migrations) disagree about what is applied. Nothing was changed." },
  MIGRATION_PARTIAL: { exit: 29, summary: 'A migration running outside a transaction (pgm.noTransaction()) failed after some of its steps committed; dbkit status marks it until it is resolved.' },
  PERMISSION_DENIED: { exit: 32, summary: 'The server refused an operation for lack of a privilege (SQLSTATE 42501) that pre-flight could not foresee; the message names the object, the hint the GRANT. The refused statement did not take effect.' },
  INIT_FAILED: { exit: 33, summary: 'dbkit init could not write a file (permissions, disk); the files it reports as written were written, nothing was overwritten.' },
  MIND_CONFLICT: { exit: 38, summary: 'dbkit minds add: the slug is taken by a different mind, or the user already has a mind. Nothing was changed.' },
  LINT_FAILED: { exit: 50, summary: 'dbkit lint found squawk findings at or above --fail-on.' },
  REHEARSAL_FAILED: { exit: 51, summary: 'dbkit rehearse (or apply --rehearse): a migration failed on the copy, or a lock, stall, rewrite or scan crossed --fail-on. Nothing was applied to the target.' },
  REHEARSAL_COPY_FAILED: { exit: 52, summary: 'The disposable copy to rehearse on could not be made (sessions connected to the target, no verified backup, no CREATEDB). Nothing was changed.' },
  LINTER_UNAVAILABLE: { exit: 53, summary: 'No working squawk binary was found (install @squawk-cli/<os>-<arch> or set DBKIT_SQUAWK).' },
  RLS_AUDIT_REGRESSION: { exit: 60, summary: 'rls-audit --diff: isolation got worse since the snapshot (a matrix cell went from denied to allowed, a new leak or blocked case), or a new finding at or above --fail-on appeared.' },
  RLS_SNAPSHOT_INVALID: { exit: 61, summary: 'rls-audit --diff: the snapshot file is missing, unreadable, not JSON, or not a dbkit rls-audit snapshot of a version this dbkit reads. Nothing was audited.' },
  INTERRUPTED: { exit: 130, summary: 'Interrupted by SIGINT/SIGTERM; the database is left at a migration boundary.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** What Postgres said, kept so that reports can show code, detail, hint and position. */
export interface PgErrorInfo {
  code?: string;
  detail?: string;
  hint?: string;
  position?: number;
  where?: string;
  table?: string;
  constraint?: string;
}

export class DbkitError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly pg: PgErrorInfo | undefined;
  /** A library call that failed part-way: its report, saying what was done before the failure. */
  readonly report: unknown;

  constructor(code: ErrorCode, message: string, options: { hint?: string; pg?: PgErrorInfo; cause?: unknown; report?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DbkitError';
    this.code = code;
    this.hint = options.hint;
    this.pg = options.pg;
    this.report = options.report;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

export function isDbkitError(error: unknown): error is DbkitError {
  return error instanceof DbkitError;
}

/** Extracts the fields node-postgres puts on a DatabaseError, without depending on its class. */
export function pgErrorInfo(error: unknown): PgErrorInfo | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as Record<string, unknown>;
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code)) return undefined;
  const info: PgErrorInfo = { code: e.code };
  if (typeof e.detail === 'string') info.detail = e.detail;
  if (typeof e.hint === 'string') info.hint = e.hint;
  if (typeof e.position === 'string' || typeof e.position === 'number') info.position = Number(e.position);
  if (typeof e.where === 'string') info.where = e.where;
  if (typeof e.table === 'string') info.table = e.table;
  if (typeof e.constraint === 'string') info.constraint = e.constraint;
  return info;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
