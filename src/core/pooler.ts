/**
 * What sits between dbkit and PostgreSQL, decided from what a probe saw (pure; the probe is
 * db/pooler.ts). A transaction pooler (PgBouncer pool_mode=transaction, Supavisor on port 6543,
 * RDS Proxy once pinned sessions are off) hands one server session to several clients between
 * transactions: session-level state (advisory locks, SET, named prepared statements, temporary
 * tables) is neither private nor kept. A session pooler gives each client one server session for
 * as long as it is connected, which is what dbkit needs.
 */

import { DbkitError } from '../errors.js';

export const CONNECTION_PATHS = ['direct', 'session-pooler', 'transaction-pooler'] as const;
export type ConnectionPath = (typeof CONNECTION_PATHS)[number];

export const POOLER_PRODUCTS = ['pgbouncer', 'supavisor', 'unknown'] as const;
export type PoolerProduct = (typeof POOLER_PRODUCTS)[number];

export interface PoolerProbe {
  host: string;
  port: number;
  /** The process id the server announced at startup (BackendKeyData); a pooler sends its own. */
  announcedPid: number | null;
  /** pg_backend_pid() of the same connection, transaction after transaction. */
  backendPids: number[];
  /** pg_backend_pid() of a second connection opened while the first stayed connected; null: not opened. */
  secondConnectionPid: number | null;
  /** The connection with a statement_timeout startup parameter was refused as PgBouncer refuses it. */
  rejectsStartupParameter: boolean | null;
}

export interface PoolerFacts {
  path: ConnectionPath;
  product: PoolerProduct | null;
  /** How it was told, one short phrase each (for --json and the connect line). */
  evidence: string[];
}

export const DIRECT: PoolerFacts = { path: 'direct', product: null, evidence: [] };

const SUPABASE_POOLER_HOST = /\.pooler\.supabase\.com$/i;
export const SUPAVISOR_TRANSACTION_PORT = 6543;

export function classifyConnection(probe: PoolerProbe): PoolerFacts {
  const evidence: string[] = [];
  const supabaseHost = SUPABASE_POOLER_HOST.test(probe.host);
  const pids = new Set(probe.backendPids);
  const first = probe.backendPids[0] ?? null;
  let transaction = false;
  let pooled = false;
  if (pids.size > 1) {
    transaction = true;
    evidence.push('the backend pid changed between transactions of one connection');
  }
  if (probe.secondConnectionPid !== null && first !== null && probe.secondConnectionPid === first) {
    transaction = true;
    evidence.push('a second connection was served by the same backend while the first stayed connected');
  }
  if (probe.announcedPid !== null && first !== null && probe.announcedPid !== first) {
    pooled = true;
    evidence.push(`the server process id announced at connect (${probe.announcedPid}) is not the backend's (${first})`);
  }
  if (probe.rejectsStartupParameter) {
    pooled = true;
    evidence.push('a statement_timeout startup parameter is refused ("unsupported startup parameter", PgBouncer)');
  }
  if (supabaseHost) {
    pooled = true;
    evidence.push(`the host is Supabase's pooler (Supavisor) on port ${probe.port}`);
    if (probe.port === SUPAVISOR_TRANSACTION_PORT) transaction = true;
  } else if (probe.port === SUPAVISOR_TRANSACTION_PORT && pooled) {
    transaction = true;
    evidence.push(`port ${SUPAVISOR_TRANSACTION_PORT} is the transaction-pooler port of Supavisor`);
  }
  if (!pooled && !transaction) return DIRECT;
  const product: PoolerProduct = supabaseHost ? 'supavisor' : probe.rejectsStartupParameter ? 'pgbouncer' : 'unknown';
  return { path: transaction ? 'transaction-pooler' : 'session-pooler', product, evidence };
}

export function describePooler(facts: PoolerFacts): string {
  const name = facts.product === 'pgbouncer' ? 'PgBouncer' : facts.product === 'supavisor' ? 'Supavisor (Supabase pooler)' : 'a connection pooler';
  switch (facts.path) {
    case 'direct':
      return 'direct connection';
    case 'session-pooler':
      return `${name} in session mode`;
    case 'transaction-pooler':
      return `${name} in transaction mode`;
    default: {
      const unreachable: never = facts.path;
      return String(unreachable);
    }
  }
}

const USE_SESSION_URL =
  'use the direct connection URL or a session-mode pooler URL for this command (Supabase: the session pooler on port 5432, or db.<project-ref>.supabase.co; PgBouncer: a pool with pool_mode = session)';

export const SESSION_URL_HINT = `${USE_SESSION_URL}. Nothing was changed.`;

/** The same, for apply and rollback, which can also go on without the backup. */
export const BACKUP_SESSION_HINT = `${USE_SESSION_URL}, or pass --no-backup (said loudly). Nothing was changed.`;

/** SQLSTATEs and messages by which a pooler (not the user's SQL or files) refused something. */
const POOLER_SQLSTATES = new Set(['42P05', '26000', '08P01']);

/**
 * A failure caused by the connection path: a named prepared statement another client of the same
 * server session prepared (42P05) or that the session that prepared it no longer serves (26000),
 * PgBouncer's protocol errors (08P01) and its own messages.
 */
export function isPoolerError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && POOLER_SQLSTATES.has(code)) {
    return code !== '26000' || /prepared statement/i.test(message);
  }
  return /pgbouncer|supavisor|unsupported startup parameter|prepared statement "dbkit_/i.test(message);
}

/**
 * Refuses, before anything is done, what needs one server session throughout when the path is a
 * transaction pooler. `what` names the need: "a template-copy backup", "dbkit restore".
 */
export function refuseThroughTransactionPooler(facts: PoolerFacts, what: string, why: string, hint = SESSION_URL_HINT): void {
  if (facts.path !== 'transaction-pooler') return;
  throw new DbkitError('PREFLIGHT_FAILED', `${what} cannot run through ${describePooler(facts)}: ${why}`, { hint });
}

/**
 * An in-place restore replaces the database, which needs every connection to it closed: a pooler
 * in either mode keeps its own server connections to it open. A restore --into a new database works
 * through a session pooler.
 */
export function refuseInPlaceThroughPooler(facts: PoolerFacts): void {
  if (facts.path === 'direct') return;
  throw new DbkitError('PREFLIGHT_FAILED', `dbkit restore --in-place cannot run through ${describePooler(facts)}: replacing the database needs every connection to it closed, and the pooler keeps its own server connections to it open`, {
    hint: 'use the direct connection URL for an in-place restore (Supabase: db.<project-ref>.supabase.co); restore --into a new database works through a session pooler. Nothing was changed.',
  });
}

/** Why each backup strategy cannot run through a pooler: said in the refusal. */
const BACKUP_NEEDS = {
  template: 'the copy needs every connection to the database closed, and the pooler keeps its own server connections open',
  pg_dump: 'pg_dump reads a snapshot that a transaction of dbkit keeps open on one server connection; with a pool of one it would wait for itself',
} as const;

/**
 * A template copy cannot be made through any pooler (its idle server connections keep the
 * database busy); a pg_dump backup only not through a transaction pooler.
 */
export function refuseBackupThroughPooler(facts: PoolerFacts, strategy: keyof typeof BACKUP_NEEDS, what: string, hint = SESSION_URL_HINT): void {
  if (facts.path === 'direct' || (strategy === 'pg_dump' && facts.path === 'session-pooler')) return;
  const label = strategy === 'template' ? 'template copy' : 'pg_dump';
  const also = strategy === 'template' && facts.path === 'session-pooler' ? ' (install a pg_dump at least as new as the server, DBKIT_PG_BIN, so that backups use pg_dump, which works here)' : '';
  throw new DbkitError('PREFLIGHT_FAILED', `${what} (${label}) cannot run through ${describePooler(facts)}: ${BACKUP_NEEDS[strategy]}`, { hint: `${hint}${also}` });
}

type Queryable = { query: (...args: never[]) => unknown };

/**
 * The same client, its named prepared statements sent unnamed: through a transaction pooler a
 * name prepared on one server session is missing on the next, or already taken by another client.
 * An unnamed statement lives within one Parse/Bind/Execute, which a transaction pooler keeps together.
 */
export function withoutStatementNames<C extends Queryable>(client: C): C {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (config: unknown, ...rest: unknown[]) => {
        const unnamed = typeof config === 'object' && config !== null && 'name' in config ? (({ name: _name, ...others }) => others)(config as { name?: unknown }) : config;
        return (target.query as (...args: unknown[]) => unknown).call(target, unnamed, ...rest);
      };
    },
  });
}

/** A pooler's refusal met mid-run (a path probing did not recognise): said as such, never as a problem of the user's files. */
export function poolerFailure(error: unknown, what: string): DbkitError {
  const message = error instanceof Error ? error.message : String(error);
  return new DbkitError('PREFLIGHT_FAILED', `${what}: the connection pooler between dbkit and the database refused a statement (${message.split('\n')[0]}); this is not a problem of your files`, {
    hint: `${USE_SESSION_URL}.`,
    cause: error,
  });
}
