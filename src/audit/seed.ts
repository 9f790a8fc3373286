/**
 * Seeds tenants A and B from the tenancy map: one root row per tenant, then one row of each tenant
 * table under every parent row of that tenant, plus a published row where the map declares one.
 * NOT NULL columns without a default get invented values (or the map's), foreign keys point at the
 * same tenant's rows. Runs inside the matrix transaction, which is rolled back.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DbkitError } from '../errors.js';
import { quoteIdent, quoteQualified } from '../core/sql.js';
import type { ResolvedTenancy, SeedValues } from './tenancy.js';

export const TENANTS = ['a', 'b'] as const;
export type Tenant = (typeof TENANTS)[number];

export interface ColumnMeta {
  name: string;
  type: string;
  category: string;
  notNull: boolean;
  hasDefault: boolean;
  enumLabels: string[] | null;
  /** What the column points at through each foreign key it is part of (a column of a composite key too). */
  references: ColumnReference[];
}

export interface ColumnReference {
  table: string;
  column: string;
  constraint: string;
}

export interface SeededRow {
  table: string;
  tenant: Tenant;
  published: boolean;
  ctid: string;
  data: Record<string, unknown>;
}

const COLUMNS_SQL = `
SELECT n.nspname || '.' || c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typcategory AS category,
       a.attnotnull AS "notNull", (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS "hasDefault",
       (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid) AS "enumLabels",
       (SELECT coalesce(json_agg(json_build_object('table', rn.nspname || '.' || rc.relname, 'column', ra.attname, 'constraint', k.conname) ORDER BY k.conname), '[]'::json)
          FROM pg_constraint k JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
          CROSS JOIN LATERAL unnest(k.conkey, k.confkey) AS pair(conkey, confkey)
          JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = pair.confkey
         WHERE k.conrelid = c.oid AND k.contype = 'f' AND pair.conkey = a.attnum) AS "references"
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
 WHERE n.nspname || '.' || c.relname = ANY($1::text[])
 ORDER BY 1, a.attnum`;

export async function readColumns(client: pg.ClientBase, tables: readonly string[]): Promise<Map<string, ColumnMeta[]>> {
  const { rows } = await client.query<ColumnMeta & { table: string }>(COLUMNS_SQL, [tables]);
  const out = new Map<string, ColumnMeta[]>();
  for (const { table, ...col } of rows) out.set(table, [...(out.get(table) ?? []), col]);
  return out;
}

export class Seeder {
  readonly rows: SeededRow[] = [];
  private counter = 0;

  constructor(
    private readonly client: pg.ClientBase,
    private readonly tenancy: ResolvedTenancy,
    private readonly columns: Map<string, ColumnMeta[]>,
    readonly uids: Record<Tenant, string>,
  ) {}

  rowsOf(table: string, tenant?: Tenant): SeededRow[] {
    return this.rows.filter((r) => r.table === table && (tenant === undefined || r.tenant === tenant));
  }

  /** The row a new row of `table` for `tenant` hangs from (its first non-published parent). */
  parentFor(table: string, tenant: Tenant): { column: string; value: unknown; type: string } {
    const t = this.tenancy.tables.find((x) => x.table === table)!;
    const parent = this.rowsOf(t.via.parent, tenant).find((r) => !r.published) ?? this.rowsOf(t.via.parent, tenant)[0];
    if (!parent) throw new Error(`no seeded ${t.via.parent} row for tenant ${tenant}`);
    return { column: t.via.column, value: parent.data[t.via.parentKey], type: this.column(table, t.via.column).type };
  }

  column(table: string, name: string): ColumnMeta {
    const col = this.columns.get(table)?.find((c) => c.name === name);
    if (!col) throw new DbkitError('USAGE', `tenancy map: ${table} has no column ${name}`);
    return col;
  }

  async seed(): Promise<void> {
    const root = this.tenancy.root;
    for (const tenant of TENANTS) {
      await this.insertSeed(root.table, tenant, { [root.userColumn]: this.uids[tenant] }, root.values, false);
    }
    for (const t of this.tenancy.tables) {
      for (const tenant of TENANTS) {
        for (const parent of this.rowsOf(t.via.parent, tenant)) {
          await this.insertSeed(t.table, tenant, { [t.via.column]: parent.data[t.via.parentKey] }, t.values, false);
        }
        if (t.published && tenant === 'a') {
          const parent = this.rowsOf(t.via.parent, tenant)[0]!;
          await this.insertSeed(t.table, tenant, { [t.via.column]: parent.data[t.via.parentKey] }, { ...t.values, ...t.published.values }, true);
        }
      }
    }
  }

  private async insertSeed(table: string, tenant: Tenant, fixed: Record<string, unknown>, values: SeedValues, published: boolean): Promise<void> {
    const insert = this.insertSql(table, tenant, fixed, values);
    const { rows } = await this.client.query<{ ctid: string; data: Record<string, unknown> }>(`${insert.sql} RETURNING ctid::text AS ctid, to_jsonb(dbkit_row) AS data`, insert.params);
    this.rows.push({ table, tenant, published, ctid: rows[0]!.ctid, data: rows[0]!.data });
  }

  /** INSERT of one new row for `tenant` (no RETURNING: probes run it as the API roles). */
  insertSql(table: string, tenant: Tenant, fixed: Record<string, unknown>, values: SeedValues = this.valuesOf(table)): { sql: string; params: unknown[] } {
    const cols: string[] = [];
    const params: unknown[] = [];
    const add = (col: ColumnMeta, value: unknown) => {
      cols.push(quoteIdent(col.name));
      params.push(value === null || value === undefined ? null : typeof value === 'object' ? JSON.stringify(value) : String(value));
    };
    for (const col of this.columns.get(table) ?? []) {
      if (col.name in fixed) add(col, fixed[col.name]);
      else if (col.name in values) add(col, this.expand(values[col.name]!, tenant));
      else if (col.notNull && !col.hasDefault) add(col, this.invent(table, col, tenant));
    }
    const casts = this.columns.get(table)!.filter((c) => cols.includes(quoteIdent(c.name)));
    return {
      sql: `INSERT INTO ${quoteQualified(table)} AS dbkit_row (${cols.join(', ')}) VALUES (${casts.map((c, i) => `$${i + 1}::${c.type}`).join(', ')})`,
      params,
    };
  }

  /** Values for a row a probe inserts: the map's values, then its probeValues. */
  private valuesOf(table: string): SeedValues {
    const t = this.tenancy.tables.find((x) => x.table === table);
    return { ...(t?.values ?? {}), ...(t?.probeValues ?? {}) };
  }

  private expand(value: string | number | boolean | null, tenant: Tenant): string | number | boolean | null {
    if (typeof value !== 'string') return value;
    return value.replaceAll('{tenant}', tenant).replaceAll('{n}', String(++this.counter));
  }

  private invent(table: string, col: ColumnMeta, tenant: Tenant): unknown {
    if (col.references.length > 0) {
      for (const ref of col.references) {
        const row = this.rowsOf(ref.table, tenant)[0];
        if (row) return row.data[ref.column];
      }
      throw new DbkitError('USAGE', `tenancy map: cannot seed ${table}.${col.name}, a required reference to ${col.references[0]!.table} (not in the map)`, { hint: `add ${col.name} to the values of ${table} in the tenancy map` });
    }
    const n = ++this.counter;
    if (col.enumLabels?.length) return col.enumLabels[0];
    if (col.type === 'uuid') return randomUUID();
    if (col.type === 'json' || col.type === 'jsonb') return '{}';
    switch (col.category) {
      case 'S':
        return `dbkit-rls-${tenant}-${n}-${randomBytes(4).toString('hex')}`;
      case 'N':
        return String(1_000_000 + n * 1000 + Math.floor(Math.random() * 1000));
      case 'B':
        return 'false';
      case 'D':
        return new Date().toISOString();
      case 'A':
        return '{}';
      default:
        throw new DbkitError('USAGE', `tenancy map: cannot invent a value for ${table}.${col.name} (type ${col.type})`, { hint: `add ${col.name} to the values of ${table} in the tenancy map` });
    }
  }
}
