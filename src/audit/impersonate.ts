/**
 * Runs the isolation matrix: seeds tenants A and B, then acts as anon, A, B and service_role the
 * way Supabase's API does (SET LOCAL ROLE + request.jwt.claims) and tries every planned operation,
 * each inside a savepoint that is rolled back. The whole run is one transaction, rolled back; row
 * counts of every touched table, taken before and after, prove nothing was left behind.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DbkitError, errorMessage, pgErrorInfo } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { crossReferences, planMatrix, rowsOutcome, summariseMatrix, type CrossReference, type Identity, type MatrixCell, type MatrixSummary, type Outcome, type PlannedCell } from './matrix.js';
import { probeReferences } from './probe-reference.js';
import { quoteIdent, quoteLiteral, quoteQualified } from '../core/sql.js';
import { readColumns, Seeder, type SeededRow, type Tenant, type Uids, type Unseedable } from './seed.js';
import { resolveTenancy, seededTables, type ResolvedTenancy, type TenancyMap } from './tenancy.js';
import { runAttacks } from './attacks/index.js';
import { actingAs, inlineParams, MOVE_CURSOR, type ProbeStatement } from './evidence.js';
import { ProofRecorder, type MatrixProof } from './proof.js';
import { neededTables, readPolicyReads, readSeedRecords, readShapes } from './seed-sql.js';
import { readReach } from './reach.js';
import { initParser } from './expr.js';

export interface Residue {
  /** Every touched table has the same row count after the run as before. */
  clean: boolean;
  tables: { table: string; before: number; after: number }[];
  /** Sequences are not transactional: values drawn while seeding stay drawn. */
  sequencesAdvanced: string[];
  /** Why the sequences could not be read (so sequencesAdvanced says nothing), or null. */
  sequencesUnread: string | null;
}

export interface MatrixReport {
  source: string;
  tenants: Uids;
  /** Tables the matrix could not seed (their cells are left out, and listed here). */
  unseedable: Unseedable[];
  cells: MatrixCell[];
  summary: MatrixSummary;
  residue: Residue;
  /** The seeded rows and every probe as portable SQL (for --export-pgtap); not part of the JSON report. */
  proof: MatrixProof;
}

const tenantOf = (i: Identity): Tenant | null => (i === 'tenant-a' ? 'a' : i === 'tenant-b' ? 'b' : null);
const otherOf = (i: Identity): Tenant => (i === 'tenant-a' ? 'b' : 'a');

async function counts(client: pg.ClientBase, tables: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ t: string; n: string }>(tables.map((t, i) => `SELECT $${i + 1}::text AS t, count(*) AS n FROM ONLY ${quoteQualified(t)}`).join(' UNION ALL '), [...tables]);
  return new Map(rows.map((r) => [r.t, Number(r.n)]));
}

/**
 * The last value of each sequence the tables own. A role that may not read a sequence (an identity
 * column's needs no USAGE to insert) leaves it unread: said in `unreadable`, never taken as
 * "did not advance". Any other error propagates.
 */
export async function readSequences(client: pg.ClientBase, tables: readonly string[]): Promise<{ values: Map<string, string | null>; unreadable: string | null }> {
  try {
    const { rows } = await client.query<{ s: string; v: string | null }>(
      `SELECT s.oid::regclass::text AS s, pg_sequence_last_value(s.oid)::text AS v FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        WHERE d.refobjid = ANY(SELECT to_regclass(x) FROM unnest($1::text[]) x) AND d.deptype IN ('a', 'i')`,
      [tables],
    );
    return { values: new Map(rows.map((r) => [r.s, r.v])), unreadable: null };
  } catch (error) {
    if (pgErrorInfo(error)?.code !== '42501') throw error;
    return { values: new Map(), unreadable: errorMessage(error) };
  }
}

async function assertPresent(client: pg.ClientBase, tenancy: ResolvedTenancy, source: string): Promise<void> {
  const relations = [...seededTables(tenancy), ...tenancy.views.map((v) => v.view)];
  const roles = [tenancy.roles.anon, tenancy.roles.authenticated, tenancy.roles.service];
  const { rows } = await client.query<{ missing: string[] }>(
    `SELECT array(SELECT x FROM unnest($1::text[]) x WHERE to_regclass(x) IS NULL) || array(SELECT r FROM unnest($2::text[]) r WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)) AS missing`,
    [relations, roles],
  );
  const missing = rows[0]?.missing ?? [];
  if (missing.length > 0) throw new DbkitError('USAGE', `the tenancy map in ${source} names ${missing.join(', ')}, which the database does not have`, { hint: 'apply the migrations first (dbkit apply), or fix the map; --no-matrix skips the isolation matrix' });
}

export interface MatrixOptions {
  /** Run the attack probes (src/audit/attacks/) after the matrix, with the exposed schemas' SECURITY DEFINER functions. */
  attacks?: { exposedSchemas: readonly string[] } | null;
  /** Which planned cells to keep (an inferred map keeps only the accesses the schema grants: infer-expect.ts). */
  keep?: (cell: PlannedCell) => boolean;
}

export async function runIsolationMatrix(client: pg.ClientBase, map: TenancyMap, source: string, reporter: Reporter, options: MatrixOptions = {}): Promise<MatrixReport> {
  const tenancy = resolveTenancy(map, source);
  await assertPresent(client, tenancy, source);
  const columns = await readColumns(client, seededTables(tenancy));
  // The map's tables and those their required references reach (rows may be seeded there too).
  const touched = [...columns.keys()];
  const before = await counts(client, touched);
  const seqBefore = await readSequences(client, touched);
  const uids: Uids = { a: randomUUID(), b: randomUUID(), c: randomUUID() };
  const references = crossReferences(tenancy, columns);
  const planned = planMatrix(tenancy, references).filter(options.keep ?? (() => true));
  const cells: MatrixCell[] = [];
  // What the reproductions need besides the rows: the tables' keys, and what policies and functions read.
  await initParser();
  const shapes = await readShapes(client, touched);
  const policyReads = await readPolicyReads(client);
  const reads = (await readReach(client)).reads;
  let proof: MatrixProof | null = null;
  let unseedable: Unseedable[] = [];
  await client.query('BEGIN');
  try {
    const seeder = new Seeder(client, tenancy, columns, uids);
    let step = reporter.step('seed tenants A and B');
    await seeder.seed();
    step.done(`${seeder.rows.length} rows in ${new Set(seeder.rows.map((r) => r.table)).size} tables (inside a transaction that is rolled back)${seeder.unseedable.length ? `; ${seeder.unseedable.length} unseedable` : ''}`);
    unseedable = seeder.unseedable;
    const probed = planned.filter((c) => !seeder.isUnseedable(c.relation) && !seeder.isUnseedable(tenancy.views.find((v) => v.view === c.relation)?.of ?? ''));
    const recorder = new ProofRecorder(tenancy, source, uids, await readSeedRecords(client, seeder.rows, shapes), shapes, (relation) => neededTables(relation, { tenancy, columns, policyReads, reads }));
    proof = recorder.proof;
    step = reporter.step(`probe ${probed.length} cases as anon, A, B and service_role`);
    for (const cell of probed) cells.push(await probe(client, cell, { tenancy, seeder, references, recorder }));
    if (options.attacks) {
      const attacks = await runAttacks({ client, tenancy, seeder, recorder, exposedSchemas: options.attacks.exposedSchemas });
      cells.push(...attacks);
    }
    const summary = summariseMatrix(cells);
    step.done(summary.leaks + summary.blocked + summary.errors === 0 ? 'every result as expected' : `${summary.leaks} leak(s), ${summary.blocked} blocked, ${summary.errors} probe error(s)`);
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
  const after = await counts(client, touched);
  const seqAfter = await readSequences(client, touched);
  const tables = touched.map((table) => ({ table, before: before.get(table) ?? 0, after: after.get(table) ?? 0 }));
  return {
    proof: proof!,
    source,
    unseedable,
    tenants: uids,
    cells,
    summary: summariseMatrix(cells),
    residue: {
      clean: tables.every((t) => t.before === t.after),
      tables,
      sequencesAdvanced: [...seqAfter.values].filter(([s, v]) => seqBefore.values.get(s) !== v).map(([s]) => s),
      sequencesUnread: seqBefore.unreadable ?? seqAfter.unreadable,
    },
  };
}

async function impersonate(client: pg.ClientBase, identity: Identity, tenancy: ResolvedTenancy, uids: Record<Tenant, string>): Promise<void> {
  const { role, claims } = actingAs(identity, tenancy, uids);
  await client.query(`SET LOCAL ROLE ${quoteIdent(role)}`);
  await client.query("SELECT set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', '', true), set_config('request.jwt.claim.role', '', true)", [claims]);
}

/** The seeded rows an operation aims at, for this identity. */
function targets(cell: PlannedCell, rows: readonly SeededRow[]): SeededRow[] {
  const own = tenantOf(cell.identity);
  switch (cell.operation) {
    case 'select-own':
      return rows.filter((r) => r.tenant === own);
    case 'select-published':
      return rows.filter((r) => r.published && r.tenant !== own);
    case 'select-other':
      return rows.filter((r) => !r.published && (own ? r.tenant === otherOf(cell.identity) : true));
    case 'update-other':
    case 'delete-other':
      return rows.filter((r) => (own ? r.tenant === otherOf(cell.identity) : true));
    default:
      return [];
  }
}

interface ProbeContext {
  tenancy: ResolvedTenancy;
  seeder: Seeder;
  references: readonly CrossReference[];
  recorder: ProofRecorder;
}

async function probe(client: pg.ClientBase, cell: PlannedCell, { tenancy, seeder, references, recorder }: ProbeContext): Promise<MatrixCell> {
  // The probe as portable SQL (keys, literals), set before it runs: the reproduction and the pgTAP export.
  let statement: ProbeStatement = { kind: 'rows', sql: '-- (the probe did not get as far as a statement)', targeted: 0 };
  const done = (actual: Outcome, detail: string): MatrixCell => recorder.complete(cell, actual, detail, statement);
  await client.query('SAVEPOINT dbkit_probe');
  try {
    await impersonate(client, cell.identity, tenancy, seeder.uids);
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT dbkit_probe');
    throw new DbkitError('PREFLIGHT_FAILED', `cannot act as ${cell.identity}: ${errorMessage(error).split('\n')[0]}`, {
      hint: 'connect as a role that may SET ROLE to anon, authenticated and service_role (on Supabase: postgres), or pass --no-matrix',
    });
  }
  try {
    const view = tenancy.views.find((v) => v.view === cell.relation);
    const table = view ? view.of : cell.relation;
    const rows = seeder.rowsOf(table);
    const aimed = targets(cell, rows);
    const rel = quoteQualified(cell.relation);
    switch (cell.operation) {
      case 'select-own':
      case 'select-other':
      case 'select-published': {
        const sql = view
          ? `SELECT count(*)::int AS n FROM ${rel} WHERE ${quoteIdent(view.key)}::text = ANY($1::text[])`
          : `SELECT count(*)::int AS n FROM ${rel} WHERE ctid = ANY($1::tid[])`;
        statement = recorder.count(cell.relation, aimed, view ? { key: view.key, tableKey: view.tableKey } : null);
        const keys = aimed.map((r) => (view ? String(r.data[view.tableKey]) : r.ctid));
        const { rows: result } = await client.query<{ n: number }>(sql, [keys]);
        const n = result[0]?.n ?? 0;
        return done(rowsOutcome(n, aimed.length), `${n}/${aimed.length} rows visible`);
      }
      case 'insert-own':
      case 'insert-other': {
        const tenant: Tenant = cell.operation === 'insert-own' ? tenantOf(cell.identity)! : otherOf(cell.identity);
        const mapped = tenancy.tables.find((t) => t.table === table);
        // A group hangs from no parent (only anon's insert is probed there).
        const parent = mapped?.via ? seeder.parentFor(table, tenant) : { column: '', value: null, type: '' };
        // Invented values rotate (allowed values, enum labels): a clash with a seeded row's unique key is tried again with the next ones.
        for (let attempt = 1; ; attempt += 1) {
          const insert = seeder.insertSql(table, tenant, parent.column ? { [parent.column]: parent.value } : {});
          statement = { kind: 'rows', sql: inlineParams(insert.sql, insert.params), targeted: 1 };
          await client.query('SAVEPOINT dbkit_insert');
          try {
            await client.query(insert.sql, insert.params);
            break;
          } catch (error) {
            await client.query('ROLLBACK TO SAVEPOINT dbkit_insert');
            const info = pgErrorInfo(error);
            if (info?.code !== '23505') throw error;
            // RLS checks a new row before its unique keys: the policies admitted it, only a duplicate key stopped it.
            if (attempt >= 4) return done('allow', `admitted by the policies; only the unique key ${info.constraint ?? ''} stopped it (the row exists already)`.replace('  ', ' '));
          }
        }
        return done('allow', `row inserted into tenant ${tenant.toUpperCase()}`);
      }
      case 'update-other':
      case 'delete-other': {
        const mapped = tenancy.tables.find((t) => t.table === table)!;
        const via = mapped.via?.column ?? mapped.key;
        const sql = cell.operation === 'update-other'
          ? `UPDATE ${rel} SET ${quoteIdent(via)} = ${quoteIdent(via)} WHERE ctid = ANY($1::tid[])`
          : `DELETE FROM ${rel} WHERE ctid = ANY($1::tid[])`;
        const where = recorder.match(table, aimed);
        statement = { kind: 'rows', sql: cell.operation === 'update-other' ? `UPDATE ${rel} SET ${quoteIdent(via)} = ${quoteIdent(via)} WHERE ${where}` : `DELETE FROM ${rel} WHERE ${where}`, targeted: aimed.length };
        let result: pg.QueryResult;
        try {
          await client.query('SAVEPOINT dbkit_write');
          result = await client.query(sql, [aimed.map((r) => r.ctid)]);
        } catch (error) {
          // The policies admitted the delete; only a foreign key from rows below stopped it.
          const info = pgErrorInfo(error);
          if (cell.operation !== 'delete-other' || info?.code !== '23503') throw error;
          await client.query('ROLLBACK TO SAVEPOINT dbkit_write');
          return done('allow', `admitted by the policies, stopped only by the foreign key ${info.constraint ?? ''} of rows that reference them`.replace('  ', ' '));
        }
        return done(rowsOutcome(result.rowCount ?? 0, aimed.length), `${result.rowCount ?? 0}/${aimed.length} rows ${cell.operation === 'update-other' ? 'updated' : 'deleted'}`);
      }
      case 'move-own':
      case 'move-own-returning': {
        const own = tenantOf(cell.identity)!;
        const row = seeder.rowsOf(table, own).find((r) => !r.published)!;
        const target = seeder.parentFor(table, otherOf(cell.identity));
        // Through a cursor, so that the UPDATE itself reads no column: only the UPDATE policies'
        // WITH CHECK applies then; RETURNING adds the SELECT policies' USING on the new row.
        if (!/^\(\d+,\d+\)$/.test(row.ctid)) throw new Error(`unexpected ctid ${row.ctid}`);
        const returning = cell.operation === 'move-own-returning' ? ' RETURNING *' : '';
        statement = {
          kind: 'move',
          cursor: `SELECT 1 FROM ${rel} WHERE ${recorder.match(table, [row])} FOR UPDATE`,
          sql: `UPDATE ${rel} SET ${quoteIdent(target.column)} = ${quoteLiteral(String(target.value))}::${target.type} WHERE CURRENT OF ${MOVE_CURSOR}${returning}`,
        };
        await client.query(`DECLARE dbkit_move CURSOR FOR SELECT 1 FROM ${rel} WHERE ctid = '${row.ctid}'::tid FOR UPDATE`);
        const fetched = await client.query('FETCH dbkit_move');
        // FOR UPDATE sees only the rows an UPDATE policy admits: none, and the row cannot be moved at all.
        if ((fetched.rowCount ?? 0) === 0) return done('deny', 'no UPDATE policy admits the own row');
        const sql = `UPDATE ${rel} SET ${quoteIdent(target.column)} = $1::${target.type} WHERE CURRENT OF dbkit_move${cell.operation === 'move-own-returning' ? ' RETURNING *' : ''}`;
        const result = await client.query(sql, [target.value]);
        return done(rowsOutcome(result.rowCount ?? 0, 1), (result.rowCount ?? 0) > 0 ? `row moved into tenant ${otherOf(cell.identity).toUpperCase()}` : 'no row updated');
      }
      case 'reference-other': {
        const result = await probeReferences(client, cell, tenantOf(cell.identity)!, otherOf(cell.identity), seeder, references);
        statement = { kind: 'references', attempts: result.attempts };
        return done(result.actual, result.detail);
      }
      default:
        throw new Error(`${cell.operation} is an attack probe (src/audit/attacks/)`);
    }
  } catch (error) {
    const info = pgErrorInfo(error);
    const message = errorMessage(error).split('\n')[0] ?? '';
    if (info?.code === '42501') return done('deny', message);
    if (error instanceof DbkitError) throw error;
    return done('error', `${info?.code ?? ''} ${message}`.trim());
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT dbkit_probe');
  }
}
