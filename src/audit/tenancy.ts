/**
 * The tenancy map: how each table reaches its tenant, declared as data (policies/creatoros.ts ships
 * the CreatorOS one; any schema can declare its own in its policies/ folder). The isolation matrix
 * seeds two tenants from it and derives what each identity should be able to do.
 */
import { DbkitError } from '../errors.js';
import { DEFAULT_API_ROLES, type ApiRoles } from './model.js';

/** Literal seed values; strings may contain {tenant} (a or b) and {n} (a number unique in the run). */
export type SeedValues = Readonly<Record<string, string | number | boolean | null>>;
export const PUBLIC_READERS = ['anon', 'authenticated'] as const;
export type PublicReader = (typeof PUBLIC_READERS)[number];

export interface TenancyMap {
  /** Role names the API uses (default anon, authenticated, service_role). */
  roles?: Partial<ApiRoles>;
  /** The JWT claim that carries the user id (default "sub"). */
  userClaim?: string;
  /** One row per tenant, owned by a user id: e.g. minds (user_id = auth.uid()). */
  root: { table: string; key?: string; userColumn: string; values?: SeedValues };
  /** Tenant-scoped tables, each pointing at its parent (the root or another tenant table). */
  tables: readonly TenantTable[];
  /** Views over a tenant table, checked for reads: `key` is the view column holding the table's key. */
  views?: readonly { view: string; of: string; key: string; tableKey?: string }[];
}

export interface TenantTable {
  table: string;
  via: { column: string; parent: string; parentKey?: string };
  /** Values for NOT NULL columns dbkit cannot invent (e.g. a CHECK-constrained role). */
  values?: SeedValues;
  /** Values for the rows the probes insert, over `values` (e.g. to stay clear of a unique key the seeded rows use). */
  probeValues?: SeedValues;
  /** What makes a row readable beyond its tenant, and by whom. */
  published?: { values: SeedValues; readableBy: readonly PublicReader[] };
}

export interface ResolvedTenancy {
  roles: ApiRoles;
  userClaim: string;
  root: { table: string; key: string; userColumn: string; values: SeedValues };
  /** Parents before children. */
  tables: (TenantTable & { via: { column: string; parent: string; parentKey: string }; values: SeedValues })[];
  views: { view: string; of: string; key: string; tableKey: string }[];
}

const qualified = /^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$/;

/** Checks the map and orders the tables; every problem is reported at once. */
export function resolveTenancy(map: TenancyMap, source: string): ResolvedTenancy {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };
  check(qualified.test(map.root?.table ?? ''), `root.table must be schema-qualified (got ${JSON.stringify(map.root?.table)})`);
  check(Boolean(map.root?.userColumn), 'root.userColumn is required');
  const known = new Set([map.root?.table]);
  const pending = [...(map.tables ?? [])];
  const ordered: ResolvedTenancy['tables'] = [];
  for (const t of pending) check(qualified.test(t.table), `tables: ${JSON.stringify(t.table)} must be schema-qualified`);
  while (pending.length > 0) {
    const next = pending.findIndex((t) => known.has(t.via?.parent));
    if (next < 0) {
      for (const t of pending) problems.push(`${t.table}: parent ${JSON.stringify(t.via?.parent)} is neither the root nor another table of the map (or there is a cycle)`);
      break;
    }
    const t = pending.splice(next, 1)[0]!;
    known.add(t.table);
    ordered.push({ ...t, via: { ...t.via, parentKey: t.via.parentKey ?? 'id' }, values: t.values ?? {} });
  }
  const views = (map.views ?? []).map((v) => ({ ...v, tableKey: v.tableKey ?? 'id' }));
  for (const v of views) check(ordered.some((t) => t.table === v.of), `view ${v.view}: "of" must name a table of the map (got ${JSON.stringify(v.of)})`);
  if (problems.length > 0) throw new DbkitError('USAGE', `tenancy map in ${source} is invalid: ${problems.join('; ')}`, { hint: 'see README "Tenancy map"' });
  return {
    roles: { ...DEFAULT_API_ROLES, ...(map.roles ?? {}) },
    userClaim: map.userClaim ?? 'sub',
    root: { table: map.root.table, key: map.root.key ?? 'id', userColumn: map.root.userColumn, values: map.root.values ?? {} },
    tables: ordered,
    views,
  };
}
