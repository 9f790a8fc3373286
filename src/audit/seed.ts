/**
 * Seeds tenants A and B from the tenancy map: one root row per tenant (and one for user C, who
 * belongs to nothing, when the root is the users table), each group with its owner's membership,
 * then one row of each tenant table under every parent row of that tenant, plus a published row
 * where the map declares one. NOT NULL columns without a default get values from their type, enum
 * and CHECK constraints (or the map's); foreign keys point at the same tenant's rows, or at a row
 * of a table outside the map (an existing one, else one seeded for the purpose). A table whose row
 * cannot be inserted is recorded as unseedable with the constraint that stopped it, and so are the
 * tables below it. Runs inside the matrix transaction, which is rolled back.
 */
import type pg from 'pg';
import { errorMessage, pgErrorInfo } from '../errors.js';
import { quoteIdent, quoteQualified } from '../core/sql.js';
import { checkDomains, inventValue, type ColumnDomain } from './seed-values.js';
import { membershipTables, type ResolvedTenancy, type SeedValues } from './tenancy.js';

export const TENANTS = ['a', 'b'] as const;
export type Tenant = (typeof TENANTS)[number];

export interface ColumnMeta {
  name: string;
  type: string;
  category: string;
  notNull: boolean;
  hasDefault: boolean;
  enumLabels: string[] | null;
  /** What its CHECK constraints allow (null: no constraint dbkit reads). */
  domain?: ColumnDomain | null;
  /** What the column points at through each foreign key it is part of (a column of a composite key too). */
  references: ColumnReference[];
}

export interface ColumnReference {
  table: string;
  column: string;
  constraint: string;
}

/** A table the matrix could not seed, and why (never silently left out). */
export interface Unseedable {
  table: string;
  /** The constraint that stopped the insert (or the parent that could not be seeded). */
  constraint: string;
  reason: string;
}

export type Uids = Record<Tenant, string> & { c?: string };

export interface SeededRow {
  table: string;
  tenant: Tenant;
  published: boolean;
  ctid: string;
  data: Record<string, unknown>;
  /** User C's row in the users table: it belongs to no tenant. */
  outsider?: boolean;
}

const COLUMNS_SQL = `
SELECT n.nspname || '.' || c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typcategory AS category,
       a.attnotnull AS "notNull", (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS "hasDefault",
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid) AS "enumLabels",
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

const CHECKS_SQL = `
SELECT n.nspname || '.' || c.relname AS "table", pg_get_constraintdef(k.oid) AS def
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE k.contype = 'c' AND n.nspname || '.' || c.relname = ANY($1::text[])`;

/** The columns of `tables` and of every table their required foreign keys reach (with what CHECK allows). */
export async function readColumns(client: pg.ClientBase, tables: readonly string[]): Promise<Map<string, ColumnMeta[]>> {
  const out = new Map<string, ColumnMeta[]>();
  let pending = [...new Set(tables)];
  while (pending.length > 0) {
    const { rows } = await client.query<ColumnMeta & { table: string }>(COLUMNS_SQL, [pending]);
    const { rows: checks } = await client.query<{ table: string; def: string }>(CHECKS_SQL, [pending]);
    for (const t of pending) out.set(t, []);
    for (const { table, ...col } of rows) out.get(table)!.push(col);
    for (const t of pending) {
      const domains = checkDomains(checks.filter((c) => c.table === t).map((c) => c.def));
      for (const col of out.get(t)!) col.domain = domains.get(col.name) ?? null;
    }
    pending = [...new Set(rows.filter((c) => c.notNull && !c.hasDefault).flatMap((c) => c.references.map((r) => r.table)))].filter((t) => !out.has(t));
  }
  return out;
}

class Unfillable extends Error {
  constructor(readonly constraint: string, message: string) {
    super(message);
  }
}

export class Seeder {
  readonly rows: SeededRow[] = [];
  readonly unseedable: Unseedable[] = [];
  /** Rows seeded in tables outside the map, for required references to them. */
  readonly support: SeededRow[] = [];
  private counter = 0;
  private readonly memberships: Map<string, ResolvedTenancy['tables'][number]>;

  constructor(
    private readonly client: pg.ClientBase,
    private readonly tenancy: ResolvedTenancy,
    private readonly columns: Map<string, ColumnMeta[]>,
    readonly uids: Uids,
  ) {
    this.memberships = new Map(membershipTables(tenancy).map((m) => [m.table, m.group]));
  }

  rowsOf(table: string, tenant?: Tenant): SeededRow[] {
    return this.rows.filter((r) => r.table === table && !r.outsider && (tenant === undefined || r.tenant === tenant));
  }

  isUnseedable(table: string): boolean {
    return this.unseedable.some((u) => u.table === table);
  }

  /** The row a new row of `table` for `tenant` hangs from (its first non-published parent). */
  parentFor(table: string, tenant: Tenant): { column: string; value: unknown; type: string } {
    const t = this.tenancy.tables.find((x) => x.table === table)!;
    if (!t.via) throw new Error(`${table} hangs from no parent`);
    const parent = this.rowsOf(t.via.parent, tenant).find((r) => !r.published) ?? this.rowsOf(t.via.parent, tenant)[0];
    if (!parent) throw new Error(`no seeded ${t.via.parent} row for tenant ${tenant}`);
    return { column: t.via.column, value: parent.data[t.via.parentKey], type: this.column(table, t.via.column).type };
  }

  columnsOf(table: string): ColumnMeta[] {
    return this.columns.get(table) ?? [];
  }

  column(table: string, name: string): ColumnMeta {
    const col = this.columns.get(table)?.find((c) => c.name === name);
    if (!col) throw new Unfillable(name, `tenancy map: ${table} has no column ${name}`);
    return col;
  }

  async seed(): Promise<void> {
    const root = this.tenancy.root;
    const users: ('a' | 'b' | 'c')[] = root.key === root.userColumn && this.uids.c ? ['a', 'b', 'c'] : ['a', 'b'];
    for (const user of users) {
      // User C is seeded as tenant "a"'s kin in no table but the users table: it owns nothing.
      await this.insertSeed(root.table, user === 'c' ? 'a' : user, { [root.userColumn]: this.uids[user] }, root.values, false, user === 'c');
    }
    for (const t of this.tenancy.tables) {
      if (this.memberships.has(t.table)) continue; // seeded with its group
      for (const tenant of TENANTS) {
        if (t.members) {
          const group = await this.insertSeed(t.table, tenant, {}, t.values, false);
          if (!group) {
            this.markUnseedable(t.members.table, t.table, `its group ${t.table} could not be seeded`);
            continue;
          }
          const m = t.members;
          await this.insertSeed(m.table, tenant, { [m.groupColumn]: group.data[t.key], [m.userColumn]: this.uids[tenant], ...(m.role ? { [m.role.column]: m.role.owner } : {}) }, m.values ?? {}, false);
          continue;
        }
        const via = t.via!;
        const parents = this.rowsOf(via.parent, tenant);
        if (parents.length === 0) {
          this.markUnseedable(t.table, via.parent, `its parent ${via.parent} could not be seeded`);
          continue;
        }
        for (const parent of parents) {
          await this.insertSeed(t.table, tenant, { [via.column]: parent.data[via.parentKey] }, t.values, false);
        }
        if (t.published && tenant === 'a') {
          await this.insertSeed(t.table, tenant, { [via.column]: parents[0]!.data[via.parentKey] }, { ...t.values, ...t.published.values }, true);
        }
      }
    }
  }

  private markUnseedable(table: string, constraint: string, reason: string): void {
    if (!this.isUnseedable(table)) this.unseedable.push({ table, constraint, reason });
  }

  /** Inserts one row in a savepoint; a refusal makes the table unseedable (with its constraint) instead of ending the run. */
  private async insertSeed(table: string, tenant: Tenant, fixed: Record<string, unknown>, values: SeedValues, published: boolean, outsider = false, fillNullable = false): Promise<SeededRow | null> {
    if (this.isUnseedable(table)) return null;
    await this.client.query('SAVEPOINT dbkit_seed');
    try {
      // As the tenant's request would: defaults and triggers that read auth.uid() (owner_id, invited_by) get the tenant.
      // Not for the root: sign-up (the auth service's insert into the users table) carries no claims.
      const uid = outsider ? this.uids.c : this.uids[tenant];
      const claims = table === this.tenancy.root.table ? '' : JSON.stringify({ sub: uid, role: 'authenticated' });
      await this.client.query("SELECT set_config('request.jwt.claims', $1, true)", [claims]);
      const insert = await this.fill(table, tenant, fixed, values, fillNullable);
      const membership = this.memberships.get(table);
      let { rows } = await this.client.query<{ ctid: string; data: Record<string, unknown> }>(`${insert.sql}${membership ? ' ON CONFLICT DO NOTHING' : ''} RETURNING ctid::text AS ctid, to_jsonb(dbkit_row) AS data`, insert.params);
      if (rows.length === 0 && membership?.members) {
        // A trigger on the group made the membership already (the creator joins as owner): that row is the seed.
        const m = membership.members;
        ({ rows } = await this.client.query(`SELECT ctid::text AS ctid, to_jsonb(t) AS data FROM ${quoteQualified(table)} t WHERE ${quoteIdent(m.groupColumn)}::text = $1 AND ${quoteIdent(m.userColumn)}::text = $2`, [String(fixed[m.groupColumn]), String(fixed[m.userColumn])]));
      }
      await this.client.query("SELECT set_config('request.jwt.claims', '', true)");
      await this.client.query('RELEASE SAVEPOINT dbkit_seed');
      const row: SeededRow = { table, tenant, published, ctid: rows[0]!.ctid, data: rows[0]!.data };
      if (outsider) row.outsider = true;
      this.rows.push(row);
      return row;
    } catch (error) {
      await this.client.query('ROLLBACK TO SAVEPOINT dbkit_seed');
      const info = pgErrorInfo(error);
      // A CHECK across columns (slug IS NOT NULL unless personal): once more with the optional columns filled too.
      if (info?.code === '23514' && !fillNullable) return this.insertSeed(table, tenant, fixed, values, published, outsider, true);
      const constraint = error instanceof Unfillable ? error.constraint : info?.constraint || info?.code || 'unknown';
      this.markUnseedable(table, constraint, errorMessage(error).split('\n')[0] ?? '');
      return null;
    }
  }

  /** Like insertSql, seeding first a row of each table outside the map that a required reference needs. */
  private async fill(table: string, tenant: Tenant, fixed: Record<string, unknown>, values: SeedValues, fillNullable = false): Promise<{ sql: string; params: unknown[] }> {
    for (const col of this.columns.get(table) ?? []) {
      if (col.name in fixed || col.name in values || !col.notNull || col.hasDefault) continue;
      const ref = col.references[0];
      if (!ref || col.references.some((r) => this.rowsOf(r.table, tenant).length > 0 || this.support.some((s) => s.table === r.table))) continue;
      await this.supportRow(ref.table, tenant, new Set([table]));
    }
    return this.insertSql(table, tenant, fixed, values, fillNullable);
  }

  /** A row of a table outside the map: an existing one, else one inserted with invented values. */
  private async supportRow(table: string, tenant: Tenant, seen: Set<string>): Promise<void> {
    if (seen.has(table)) throw new Unfillable(table, `a cycle of required references through ${table}`);
    if (!this.columns.has(table)) throw new Unfillable(table, `${table} is not readable`);
    const { rows } = await this.client.query<{ data: Record<string, unknown> }>(`SELECT to_jsonb(t) AS data FROM ${quoteQualified(table)} t LIMIT 1`);
    if (rows[0]) {
      this.support.push({ table, tenant, published: false, ctid: '', data: rows[0].data });
      return;
    }
    for (const col of this.columns.get(table)!) {
      const ref = col.references[0];
      if (!col.notNull || col.hasDefault || !ref || this.support.some((s) => s.table === ref.table) || this.rows.some((r) => r.table === ref.table)) continue;
      await this.supportRow(ref.table, tenant, new Set([...seen, table]));
    }
    const insert = this.insertSql(table, tenant, {}, {});
    const { rows: added } = await this.client.query<{ ctid: string; data: Record<string, unknown> }>(`${insert.sql} RETURNING ctid::text AS ctid, to_jsonb(dbkit_row) AS data`, insert.params);
    const row = { table, tenant, published: false, ctid: added[0]!.ctid, data: added[0]!.data };
    this.support.push(row);
    this.rows.push(row);
  }

  /** INSERT of one new row for `tenant` (no RETURNING: probes run it as the API roles). */
  insertSql(table: string, tenant: Tenant, fixed: Record<string, unknown>, values: SeedValues = this.valuesOf(table), fillNullable = false): { sql: string; params: unknown[] } {
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
      else if (fillNullable && !col.hasDefault && col.references.length === 0) add(col, this.invent(table, col, tenant));
      // A required reference with a default (owner_id DEFAULT auth.uid()): the default means the caller, so the tenant's row.
      else if (col.notNull && col.references.length > 0) {
        const row = col.references.map((r) => ({ r, row: this.rowsOf(r.table, tenant)[0] })).find((x) => x.row);
        if (row) add(col, row.row!.data[row.r.column]);
      }
    }
    const casts = (this.columns.get(table) ?? []).filter((c) => cols.includes(quoteIdent(c.name)));
    if (cols.length === 0) return { sql: `INSERT INTO ${quoteQualified(table)} AS dbkit_row DEFAULT VALUES`, params };
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
        const row = this.rowsOf(ref.table, tenant)[0] ?? this.support.find((s) => s.table === ref.table);
        if (row) return row.data[ref.column];
      }
      throw new Unfillable(col.references[0]!.constraint, `cannot seed ${table}.${col.name}, a required reference to ${col.references[0]!.table} that has no row dbkit can use`);
    }
    const value = inventValue(col, col.domain ?? undefined, ++this.counter, tenant);
    if (value === null) throw new Unfillable(col.name, `cannot invent a value for ${table}.${col.name} (type ${col.type}); give it in the tenancy map's values`);
    return value;
  }
}
