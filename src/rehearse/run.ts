/**
 * Rehearsing migrations on a connection to a disposable copy: each statement is sent on its own
 * while a second connection polls pg_locks for the migrating backend, and the catalog and scan
 * counters are read before and after it. A transactional migration runs in one transaction as
 * `dbkit apply` would run it, and COMMITs (on the copy) so the next migration sees its effect.
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import type { PlanningDb } from '../migrations/load.js';
import { statementTree, type MigrationSql } from '../migrations/statements.js';
import type { LintFinding } from '../lint/model.js';
import { adviceFor, statementKind } from './advice.js';
import { locksByStatement, rewritesIn, scansIn, type Namer, type StatementWindow } from './measure.js';
import type { MigrationRehearsal, StatementRehearsal } from './model.js';
import { catalogState, flushStats, lockSnapshot, relationNames, startPoller, type CatalogState, type HeldLock } from './observe.js';
import { startTraffic, type Traffic, type TrafficTable } from './traffic.js';
import { namedRelations } from './touched.js';
import { serverWide } from './server-wide.js';
import { summarise } from './wording.js';

export interface RehearsalSource {
  name: string;
  file: string;
  /** Renders the migration; `db` reads the copy (for migrations that query while they are built). */
  render(db: PlanningDb): Promise<MigrationSql>;
}

export interface RehearseContext {
  /** The migrating connection (to the copy). */
  client: pg.Client;
  /** A second connection to the same server, polling pg_locks. */
  watcher: pg.Client;
  copyUrl: string;
  connectTimeoutMs: number;
  traffic: boolean;
  /**
   * true on a copy: each migration runs in its own transaction and commits. false on the target:
   * the caller holds one transaction around all of them and rolls it back; nothing commits.
   */
  commit: boolean;
  lint(sql: MigrationSql): Promise<LintFinding[]>;
  shownFile(file: string): string;
  onStatement?(migration: string, index: number, total: number): void;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export function planningDb(client: pg.ClientBase): PlanningDb {
  return { query: (sql, values) => client.query(sql, values), select: async (sql, values) => (await client.query(sql, values)).rows };
}

async function trafficTables(client: pg.ClientBase, sql: MigrationSql): Promise<TrafficTable[]> {
  const names = sql.statements.flatMap((s) => namedRelations(s.sql));
  if (names.length === 0) return [];
  // Names are resolved as the migration's own statements resolve them (search_path), quoted exactly.
  const { rows } = await client.query<{ oid: number; schema: string; table: string }>(
    `SELECT DISTINCT c.oid::int AS oid, n.nspname AS schema, c.relname AS table
       FROM jsonb_to_recordset($1::jsonb) AS x(schema text, name text)
       JOIN pg_class c ON c.oid = to_regclass(CASE WHEN x.schema IS NULL THEN quote_ident(x.name) ELSE quote_ident(x.schema) || '.' || quote_ident(x.name) END)
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema','dbkit')`,
    [JSON.stringify(names)],
  );
  return rows.map((r) => ({ ...r, name: `${r.schema}.${r.table}` }));
}

export async function rehearseMigration(ctx: RehearseContext, source: RehearsalSource): Promise<MigrationRehearsal> {
  const started = performance.now();
  const { client } = ctx;
  const result: MigrationRehearsal = { name: source.name, file: ctx.shownFile(source.file), transactional: true, status: 'failed', durationMs: 0, statements: [], traffic: null, summary: [], skippedReason: null, error: null };
  let sql: MigrationSql;
  try {
    sql = await source.render(planningDb(client));
  } catch (error) {
    result.error = `cannot build its SQL: ${errorMessage(error).split('\n')[0]}`;
    return result;
  }
  result.transactional = sql.transactional;
  if (!sql.transactional && !ctx.commit) {
    result.status = 'skipped';
    result.skippedReason = 'it runs outside a transaction (pgm.noTransaction()), so it cannot be rehearsed inside a rolled-back transaction on the target';
    return result;
  }
  const outside = sql.statements.map((st) => ({ st, what: serverWide(statementTree(st.sql)) })).find((x) => x.what !== null);
  if (outside && ctx.commit) {
    result.error = `statement ${outside.st.index + 1} (${outside.what}) acts on the whole server, not only the database: on a copy it would change the real server, so it is not rehearsed`;
    result.summary = [];
    result.durationMs = round(performance.now() - started);
    return result;
  }
  const lint = await ctx.lint(sql);
  const inTx = sql.transactional;
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const traffic: Traffic | null = ctx.traffic ? await startTraffic(ctx.copyUrl, await trafficTables(client, sql), ctx.connectTimeoutMs) : null;
  const windows: StatementWindow[] = [];
  const errors = new Map<number, string>();
  let transactionEnd: number | null = null;
  let existedBefore = new Set<number>();
  let heldAtStart: HeldLock[] = [];
  const poller = startPoller(ctx.watcher, pid);
  try {
    if (traffic) {
      // Let the loops reach their steady state, so a stall is the migration's doing.
      await new Promise((resolve) => setTimeout(resolve, 150));
      traffic.begin();
    }
    if (inTx && ctx.commit) await client.query('BEGIN');
    else if (!inTx) await flushStats(client);
    heldAtStart = inTx ? await lockSnapshot(client) : [];
    let before: CatalogState = await catalogState(client, inTx);
    existedBefore = new Set(before.keys());
    for (const statement of sql.statements) {
      ctx.onStatement?.(sql.name, statement.index, sql.statements.length);
      const start = performance.now();
      try {
        await client.query(statement.sql);
      } catch (error) {
        errors.set(statement.index, errorMessage(error).split('\n')[0] ?? 'failed');
      }
      const end = performance.now();
      if (!inTx) await flushStats(client);
      const failed = errors.has(statement.index);
      const after = failed && inTx ? before : await catalogState(client, inTx);
      const snapshot = inTx && !failed ? await lockSnapshot(client) : null;
      windows.push({ index: statement.index, start, end, before, after, snapshot });
      before = after;
      if (failed) break;
    }
    if (inTx) {
      // On the target the caller's transaction goes on (and is rolled back at the end): the locks
      // taken here would be released at this point by a real apply, which commits per migration.
      if (ctx.commit) await client.query(errors.size === 0 ? 'COMMIT' : 'ROLLBACK');
      transactionEnd = performance.now();
    }
  } catch (error) {
    if (ctx.commit) await client.query('ROLLBACK').catch(() => {});
    result.error = errorMessage(error).split('\n')[0] ?? 'failed';
  } finally {
    const samples = await poller.stop();
    result.traffic = traffic ? await traffic.end() : null;
    const seenNames = new Map<number, { name: string; kind: StatementRehearsal['locks'][number]['relation']['kind'] }>();
    for (const w of windows) for (const state of [w.before, w.after]) for (const r of state.values()) seenNames.set(r.oid, { name: r.name, kind: r.kind });
    const unknown = [...new Set(samples.flatMap((s) => s.locks.map((l) => l.oid)))].filter((oid) => !seenNames.has(oid));
    for (const [oid, v] of await relationNames(client, unknown).catch(() => new Map())) seenNames.set(oid, v);
    const namer: Namer = (oid) => seenNames.get(oid);
    const locks = locksByStatement(windows, samples, transactionEnd, existedBefore, namer, heldAtStart);
    for (const w of windows) {
      const statement = sql.statements[w.index]!;
      const tree = statementTree(statement.sql);
      const s: StatementRehearsal = {
        index: w.index,
        sql: statement.sql,
        origin: { ...statement.origin, file: ctx.shownFile(statement.origin.file) },
        kind: statementKind(tree),
        durationMs: round(w.end - w.start),
        locks: locks.get(w.index) ?? [],
        rewrites: rewritesIn(w, existedBefore, namer),
        scans: scansIn(w, existedBefore, namer),
        scanMeasure: inTx ? 'pg_stat_xact_user_tables' : 'pg_stat_user_tables',
        lint: lint.filter((f) => f.statementIndex === w.index),
        advice: [],
        error: errors.get(w.index) ?? null,
      };
      s.advice = adviceFor(s, tree);
      result.statements.push(s);
    }
  }
  const firstError = [...errors.entries()][0];
  if (firstError) result.error ??= `statement ${firstError[0] + 1} failed: ${firstError[1]}`;
  result.status = result.error ? 'failed' : 'rehearsed';
  result.summary = summarise(result);
  result.durationMs = round(performance.now() - started);
  return result;
}
