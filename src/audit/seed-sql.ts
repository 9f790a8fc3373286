/**
 * The seeded rows as SQL that stands on its own: after seeding (inside the matrix transaction),
 * every seeded row is read back with each column as text, so a reproduction or an exported pgTAP
 * suite inserts exactly those rows (ids included) and finds them again by key, never by ctid.
 * Also which tables a probe's reproduction needs rows of: the relation, what its foreign keys, its
 * policies and the functions they call read, and its tenancy parents, closed over.
 */
import type pg from 'pg';
import { quoteIdent, quoteLiteral, quoteQualified } from '../core/sql.js';
import type { CatalogRead } from './model.js';
import type { ColumnMeta, SeededRow, Tenant } from './seed.js';
import type { ResolvedTenancy } from './tenancy.js';

export interface SeedRecord {
  table: string;
  tenant: Tenant;
  ctid: string;
  /** INSERT of the row with every value it got (no trailing semicolon). */
  insert: string;
  /** Non-generated columns and their values as text (null for NULL). */
  values: Record<string, string | null>;
}

export interface TableShape {
  table: string;
  columns: { name: string; type: string; generated: boolean; identityAlways: boolean; sequence: string | null }[];
  /** Primary key columns (empty: none). */
  key: string[];
}

const SHAPE_SQL = `
SELECT n.nspname || '.' || c.relname AS "table",
       json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'generated', a.attgenerated <> '',
                                  'identityAlways', a.attidentity = 'a',
                                  'sequence', pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname)) ORDER BY a.attnum) AS columns,
       coalesce((SELECT array_agg(ka.attname::text ORDER BY k.ord) FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute ka ON ka.attrelid = i.indrelid AND ka.attnum = k.attnum
                 WHERE i.indrelid = c.oid AND i.indisprimary), '{}'::text[]) AS key
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname || '.' || c.relname = ANY($1::text[])
 GROUP BY n.nspname, c.relname, c.oid`;

export async function readShapes(client: pg.ClientBase, tables: readonly string[]): Promise<Map<string, TableShape>> {
  const { rows } = await client.query<TableShape>(SHAPE_SQL, [tables]);
  return new Map(rows.map((r) => [r.table, r]));
}

const typed = (value: string | null, type: string) => (value === null ? 'NULL' : `${quoteLiteral(value)}::${type}`);

/**
 * Reads every seeded row back as text, in seeding order (parents before children). Inside the
 * matrix transaction; the output styles are pinned for the read (dates year first, floats exact)
 * so that the text reads back the same under any DateStyle, then restored.
 */
export async function readSeedRecords(client: pg.ClientBase, rows: readonly SeededRow[], shapes: Map<string, TableShape>): Promise<SeedRecord[]> {
  await client.query('SAVEPOINT dbkit_seed_text');
  try {
    await client.query("SELECT set_config('datestyle', 'ISO, YMD', true), set_config('intervalstyle', 'postgres', true), set_config('extra_float_digits', '3', true), set_config('bytea_output', 'hex', true)");
    return await seedRecords(client, rows, shapes);
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT dbkit_seed_text');
  }
}

async function seedRecords(client: pg.ClientBase, rows: readonly SeededRow[], shapes: Map<string, TableShape>): Promise<SeedRecord[]> {
  const byCtid = new Map<string, Record<string, string | null>>();
  for (const table of new Set(rows.map((r) => r.table))) {
    const shape = shapes.get(table)!;
    const cols = shape.columns.filter((c) => !c.generated);
    const ctids = rows.filter((r) => r.table === table).map((r) => r.ctid);
    const { rows: found } = await client.query<{ ctid: string; v: (string | null)[] }>(
      `SELECT ctid::text AS ctid, ARRAY[${cols.map((c) => `${quoteIdent(c.name)}::text`).join(', ')}]::text[] AS v FROM ONLY ${quoteQualified(table)} WHERE ctid = ANY($1::tid[])`,
      [ctids],
    );
    for (const f of found) byCtid.set(`${table} ${f.ctid}`, Object.fromEntries(cols.map((c, i) => [c.name, f.v[i] ?? null])));
  }
  return rows.map((r) => {
    const shape = shapes.get(r.table)!;
    const values = byCtid.get(`${r.table} ${r.ctid}`) ?? {};
    const cols = shape.columns.filter((c) => !c.generated);
    const overriding = cols.some((c) => c.identityAlways) ? ' OVERRIDING SYSTEM VALUE' : '';
    return {
      table: r.table,
      tenant: r.tenant,
      ctid: r.ctid,
      values,
      insert: `INSERT INTO ${quoteQualified(r.table)} (${cols.map((c) => quoteIdent(c.name)).join(', ')})${overriding} VALUES (${cols.map((c) => typed(values[c.name] ?? null, c.type)).join(', ')})`,
    };
  });
}

/**
 * A condition that holds for exactly these rows of the table: by primary key when it has one, else
 * by every column compared as text. "false" for no row.
 */
export function matchRows(records: readonly SeedRecord[], shape: TableShape): string {
  if (records.length === 0) return 'false';
  if (shape.key.length > 0) {
    const types = new Map(shape.columns.map((c) => [c.name, c.type]));
    const tuple = (r: SeedRecord) => shape.key.map((k) => typed(r.values[k] ?? null, types.get(k)!)).join(', ');
    return shape.key.length === 1
      ? `${quoteIdent(shape.key[0]!)} IN (${records.map(tuple).join(', ')})`
      : `(${shape.key.map(quoteIdent).join(', ')}) IN (${records.map((r) => `(${tuple(r)})`).join(', ')})`;
  }
  const cols = shape.columns.filter((c) => !c.generated);
  const one = (r: SeedRecord) => `(${cols.map((c) => `${quoteIdent(c.name)}::text IS NOT DISTINCT FROM ${r.values[c.name] === null || r.values[c.name] === undefined ? 'NULL' : quoteLiteral(r.values[c.name]!)}`).join(' AND ')})`;
  return records.length === 1 ? one(records[0]!) : `(${records.map(one).join(' OR ')})`;
}

const POLICY_READS_SQL = `
SELECT DISTINCT tn.nspname || '.' || t.relname AS "table",
       coalesce((SELECT rn.nspname || '.' || r.relname FROM pg_class r JOIN pg_namespace rn ON rn.oid = r.relnamespace WHERE d.refclassid = 'pg_class'::regclass AND r.oid = d.refobjid),
                (SELECT fn.nspname || '.' || f.proname FROM pg_proc f JOIN pg_namespace fn ON fn.oid = f.pronamespace WHERE d.refclassid = 'pg_proc'::regclass AND f.oid = d.refobjid)) AS reads
  FROM pg_policy p JOIN pg_class t ON t.oid = p.polrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace
  JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass)
 WHERE d.refobjid <> p.polrelid`;

/** What each relation's policies read (tables, and functions by "schema.name"). */
export async function readPolicyReads(client: pg.ClientBase): Promise<{ table: string; reads: string }[]> {
  const { rows } = await client.query<{ table: string; reads: string | null }>(POLICY_READS_SQL);
  return rows.flatMap((r) => (r.reads ? [{ table: r.table, reads: r.reads }] : []));
}

/**
 * The relations whose seeded rows a probe on `relation` needs: closed over foreign keys, tenancy
 * parents, policy reads, and what views and SQL functions read. Pure.
 */
export function neededTables(
  relation: string,
  input: { tenancy: ResolvedTenancy; columns: Map<string, ColumnMeta[]>; policyReads: readonly { table: string; reads: string }[]; reads: readonly CatalogRead[] },
): Set<string> {
  const edges = new Map<string, Set<string>>();
  const add = (from: string, to: string) => edges.set(from, (edges.get(from) ?? new Set()).add(to));
  for (const [table, cols] of input.columns) for (const c of cols) for (const r of c.references) add(table, r.table);
  for (const t of input.tenancy.tables) {
    if (t.via) add(t.table, t.via.parent);
    if (t.members) {
      add(t.table, t.members.table);
      add(t.members.table, t.table);
    }
    if (t.membershipOf) add(t.table, t.membershipOf);
  }
  for (const v of input.tenancy.views) add(v.view, v.of);
  for (const p of input.policyReads) add(p.table, p.reads);
  for (const r of input.reads) add(r.readerType === 'function' ? r.reader.replace(/\(.*\)$/s, '') : r.reader, r.reads);
  const seen = new Set([relation]);
  const queue = [relation];
  while (queue.length > 0) {
    for (const next of edges.get(queue.shift()!) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return seen;
}
