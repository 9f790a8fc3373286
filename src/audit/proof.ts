/**
 * Turns each probe of the isolation matrix into a cell that carries its evidence (identities, the
 * reproduction, the fix) and keeps what --export-pgtap needs: the seeded rows as SQL and every
 * probe's portable statement. Built by impersonate.ts after seeding; pure once built.
 */
import { quoteIdent, quoteLiteral, quoteQualified } from '../core/sql.js';
import { actingAs, fixFor, identitiesOf, reproduction, type ProbeStatement } from './evidence.js';
import { IDENTITIES, verdictOf, type Identity, type MatrixCell, type Outcome, type PlannedCell } from './matrix.js';
import { matchRows, type SeedRecord, type TableShape } from './seed-sql.js';
import type { SeededRow, Uids } from './seed.js';
import type { ResolvedTenancy } from './tenancy.js';

export interface MatrixProof {
  source: string;
  seed: SeedRecord[];
  shapes: Map<string, TableShape>;
  acting: Record<Identity, { role: string; claims: string }>;
  probes: { cell: MatrixCell; statement: ProbeStatement }[];
}

export class ProofRecorder {
  readonly proof: MatrixProof;
  private readonly seedFor = new Map<string, string[]>();
  private readonly byRow: Map<string, SeedRecord>;

  constructor(
    private readonly tenancy: ResolvedTenancy,
    source: string,
    uids: Uids,
    seed: SeedRecord[],
    shapes: Map<string, TableShape>,
    /** The tables whose seeded rows a probe on a relation needs. */
    private readonly needs: (relation: string) => Set<string>,
  ) {
    const acting = Object.fromEntries(IDENTITIES.map((i) => [i, actingAs(i, tenancy, uids)])) as Record<Identity, { role: string; claims: string }>;
    this.proof = { source, seed, shapes, acting, probes: [] };
    this.byRow = new Map(seed.map((r) => [`${r.table} ${r.ctid}`, r]));
  }

  private record(row: SeededRow): SeedRecord {
    const found = this.byRow.get(`${row.table} ${row.ctid}`);
    if (!found) throw new Error(`seeded row ${row.table} ${row.ctid} was not read back`);
    return found;
  }

  /** A condition matching exactly these seeded rows of `table`. */
  match(table: string, rows: readonly SeededRow[]): string {
    return matchRows(rows.map((r) => this.record(r)), this.proof.shapes.get(table)!);
  }

  /** The count statement of a read probe on a table or a view (matched through the view's key). */
  count(relation: string, rows: readonly SeededRow[], view: { key: string; tableKey: string } | null): ProbeStatement {
    const where = view
      ? rows.length === 0 ? 'false' : `${quoteIdent(view.key)}::text IN (${rows.map((r) => this.record(r).values[view.tableKey] ?? '').map(quoteLiteral).join(', ')})`
      : this.match(relation, rows);
    return { kind: 'count', sql: `SELECT count(*) AS visible, ${rows.length} AS aimed FROM ${quoteQualified(relation)} WHERE ${where}`, targeted: rows.length };
  }

  private seedSql(relation: string): string[] {
    let seed = this.seedFor.get(relation);
    if (!seed) {
      const tables = this.needs(relation);
      seed = this.proof.seed.filter((r) => tables.has(r.table)).map((r) => r.insert);
      this.seedFor.set(relation, seed);
    }
    return seed;
  }

  /** The finished cell, with its evidence; the probe is kept for the pgTAP export. */
  complete(cell: PlannedCell, actual: Outcome, detail: string, statement: ProbeStatement, fix?: string): MatrixCell {
    const verdict = verdictOf(cell.expected, actual);
    const done: MatrixCell = {
      ...cell,
      actual,
      detail,
      verdict,
      identities: identitiesOf(cell),
      table: cell.relation,
      reproduction: reproduction({ cell: { ...cell, actual, detail }, seed: this.seedSql(cell.relation), acting: this.proof.acting[cell.identity], statement }),
      fix: verdict === 'ok' ? '' : (fix ?? fixFor({ ...cell, verdict, detail }, this.tenancy)),
    };
    this.proof.probes.push({ cell: done, statement });
    return done;
  }
}
