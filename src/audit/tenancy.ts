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

/**
 * Group membership: a table linking a user to a group (a team, an account), read by the policies
 * through EXISTS / IN. The matrix makes each tenant a member of its own group (with `role.owner`
 * when the table has a role column).
 */
export interface Membership {
  /** The membership table, "schema.name". */
  table: string;
  /** Its column holding the group's key. */
  groupColumn: string;
  /** Its column holding the user id. */
  userColumn: string;
  /** The role column, and the values that make a member an owner (seeded) and a plain member. */
  role?: { column: string; owner: string; member?: string };
  values?: SeedValues;
}

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

/**
 * A tenant-scoped table reaches its tenant in one of two ways: `via` a parent (the root, a group or
 * another tenant table: a direct owner column is `via` the root users table), or, for a group,
 * through `members`.
 */
export interface TenantTable {
  table: string;
  via?: { column: string; parent: string; parentKey?: string };
  /** A group table: its rows belong to the users its membership table links to them. */
  members?: Membership;
  /** The group's key column (default id), which members.groupColumn holds. */
  key?: string;
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
  /** Parents before children. `via` is null for a group (it has `members`). */
  tables: ResolvedTable[];
  views: { view: string; of: string; key: string; tableKey: string }[];
}

export type ResolvedTable = Omit<TenantTable, 'via' | 'members'> & {
  via: { column: string; parent: string; parentKey: string } | null;
  members: (Membership & { groupKey: string }) | null;
  /** The group whose membership table this is (null: not a membership table). */
  membershipOf: string | null;
  key: string;
  values: SeedValues;
};

/** The membership tables of the map's groups, with their group. */
export function membershipTables(tenancy: Pick<ResolvedTenancy, 'tables'>): { table: string; group: ResolvedTable }[] {
  return tenancy.tables.flatMap((t) => (t.members ? [{ table: t.members.table, group: t }] : []));
}

/** Every table the matrix seeds: the root, the map's tables, and the membership tables of its groups. */
export function seededTables(tenancy: Pick<ResolvedTenancy, 'root' | 'tables'>): string[] {
  return [...new Set([tenancy.root.table, ...tenancy.tables.map((t) => t.table), ...membershipTables(tenancy).map((m) => m.table)])];
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
  const memberships = new Map<string, string>();
  for (const t of pending) {
    check(qualified.test(t.table), `tables: ${JSON.stringify(t.table)} must be schema-qualified`);
    check(Boolean(t.via) !== Boolean(t.members), `${t.table}: give either via (a parent) or members (a group), not ${t.via ? 'both' : 'neither'}`);
    if (t.members) {
      check(qualified.test(t.members.table ?? '') && Boolean(t.members.groupColumn) && Boolean(t.members.userColumn), `${t.table}: members needs a schema-qualified table, groupColumn and userColumn`);
      memberships.set(t.members.table, t.table);
    }
  }
  // Groups first (they hang from no parent), then each table once its parent is known.
  while (pending.length > 0) {
    const next = pending.findIndex((t) => (t.members ? true : t.via ? known.has(t.via.parent) : false));
    if (next < 0) {
      for (const t of pending) problems.push(`${t.table}: parent ${JSON.stringify(t.via?.parent)} is neither the root nor another table of the map (or there is a cycle)`);
      break;
    }
    const t = pending.splice(next, 1)[0]!;
    known.add(t.table);
    const key = t.key ?? 'id';
    ordered.push({
      ...t,
      key,
      via: t.via ? { ...t.via, parentKey: t.via.parentKey ?? 'id' } : null,
      members: t.members ? { ...t.members, groupKey: key } : null,
      membershipOf: memberships.get(t.table) ?? null,
      values: t.values ?? {},
    });
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
