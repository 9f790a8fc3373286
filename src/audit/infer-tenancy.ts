/**
 * Tenancy inference: for every table with RLS, how its rows reach a user, from its policies
 * (infer-policy.ts), its foreign keys and the membership tables the policies read. Three kinds of
 * path: a direct owner column (via the users table), a chain of parents, a group membership. The
 * result is a TenancyMap (the type a policies/ folder declares) with a note on each guess, and the
 * tables it could not place, with why. Pure: infer-catalog.ts reads the input.
 */
import type { CatalogPolicy } from './model.js';
import type { Expr } from './expr.js';
import { analysePolicy, type InferContext, type InferFunction, type InferTableShape, type MembershipGuess, type PathCandidate, type PolicyFacts } from './infer-policy.js';
import type { Membership, PublicReader, TenancyMap, TenantTable } from './tenancy.js';

export interface InferTable extends InferTableShape {
  rls: boolean;
  policies: CatalogPolicy[];
}

export interface InferInput {
  /** Every table of the user's schemas (with RLS or not: membership and parent tables may have none). */
  tables: InferTable[];
  functions: InferFunction[];
  /** Views of the exposed schemas that authenticated or anon may read, with the relations they read. */
  views: { view: string; reads: string[]; columns: string[] }[];
  /** Definitions of the views policies may read (caller views), "schema.view" -> SELECT. */
  viewDefs?: ReadonlyMap<string, string>;
  /** auth.users when the database has it. */
  usersTable: string | null;
  /** The values a role column may hold (enum labels or a CHECK list), by "schema.table.column". */
  roleValues: ReadonlyMap<string, string[]>;
}

export interface InferredTenancy {
  map: TenancyMap;
  /** One line per table of the map (and the root): the evidence for the guess. */
  notes: Record<string, string>;
  /** Tables with RLS the map leaves out, and why. */
  unplaced: { table: string; why: string }[];
}

const readers = (roles: readonly string[]): PublicReader[] => {
  if (roles.includes('public')) return ['anon', 'authenticated'];
  return (['anon', 'authenticated'] as const).filter((r) => roles.includes(r));
};

const RANK: Record<PathCandidate['kind'], number> = { group: 0, owner: 1, parent: 2 };

/** The policies that say who reads a row: permissive SELECT/ALL (USING), else the write policies' checks. */
function factsOf(t: InferTable, ctx: InferContext, parse: (text: string) => Expr): { facts: PolicyFacts[]; published: TenantTable['published'] | null } {
  const facts: PolicyFacts[] = [];
  let published: TenantTable['published'] | null = null;
  const permissive = t.policies.filter((p) => p.permissive);
  const reading = permissive.filter((p) => p.command === 'SELECT' || p.command === 'ALL');
  for (const p of reading) {
    const f = analysePolicy(p.using, t.table, ctx, parse);
    facts.push(f);
    if (f.published && !published) published = { values: f.published, readableBy: readers(p.roles) };
  }
  if (facts.every((f) => f.candidates.length === 0)) {
    for (const p of permissive.filter((x) => x.command !== 'SELECT')) facts.push(analysePolicy(p.withCheck ?? p.using, t.table, ctx, parse));
  }
  // Restrictive policies narrow: their paths count too (a group check ANDed with a permissive `true`).
  for (const p of t.policies.filter((x) => !x.permissive && (x.command === 'SELECT' || x.command === 'ALL'))) facts.push(analysePolicy(p.using, t.table, ctx, parse));
  return { facts, published };
}

function roleOf(m: MembershipGuess, roleValues: ReadonlyMap<string, string[]>): Membership['role'] | undefined {
  if (!m.roleColumn) return undefined;
  const values = roleValues.get(`${m.table}.${m.roleColumn}`) ?? m.roleCompared;
  if (values.length === 0) return undefined;
  const owner = values.find((v) => /owner/i.test(v)) ?? values.find((v) => /admin/i.test(v)) ?? m.roleCompared[0] ?? values[0]!;
  const member = values.find((v) => v !== owner && /member|viewer|user|read|guest|editor/i.test(v)) ?? values.find((v) => v !== owner);
  return { column: m.roleColumn, owner, ...(member ? { member } : {}) };
}

/** The table a group column points at: its foreign key, else the membership table's foreign key for the group column. */
function groupTable(t: InferTable, column: string, m: MembershipGuess, tables: ReadonlyMap<string, InferTable>): { table: string; key: string } | null {
  const own = t.foreignKeys.find((f) => f.columns.length === 1 && f.columns[0] === column);
  if (own) return { table: own.references, key: own.referencedColumns[0]! };
  const viaMembership = tables.get(m.table)?.foreignKeys.find((f) => f.columns.length === 1 && f.columns[0] === m.groupColumn);
  if (viaMembership) return { table: viaMembership.references, key: viaMembership.referencedColumns[0]! };
  return null;
}

export function inferTenancy(input: InferInput, parse: (text: string) => Expr): InferredTenancy {
  const tables = new Map(input.tables.map((t) => [t.table, t]));
  const ctx: InferContext = { tables, functions: new Map(input.functions.map((f) => [f.name, f])), ...(input.viewDefs ? { views: input.viewDefs } : {}) };
  const notes: Record<string, string> = {};
  const unplaced: InferredTenancy['unplaced'] = [];
  const chosen = new Map<string, PathCandidate>();
  const published = new Map<string, NonNullable<TenantTable['published']>>();
  const anchors: { table: string; column: string }[] = [];
  const groups = new Map<string, { key: string; membership: MembershipGuess; why: string }>();

  for (const t of input.tables.filter((x) => x.rls)) {
    const { facts, published: pub } = factsOf(t, ctx, parse);
    anchors.push(...facts.flatMap((f) => f.anchors));
    const candidates = facts.flatMap((f) => f.candidates).sort((a, b) => RANK[a.kind] - RANK[b.kind]);
    const best = candidates[0];
    if (pub) published.set(t.table, pub);
    if (!best) {
      const claims = [...new Set(facts.flatMap((f) => f.claims))];
      unplaced.push({ table: t.table, why: claims.length ? `its policies compare JWT claims (${claims.join(', ')}), not rows: tenancy by claim is not seeded` : t.policies.length === 0 ? 'no policy' : 'no policy ties its rows to auth.uid() (directly, through a parent or a membership)' });
      continue;
    }
    chosen.set(t.table, best);
    if (best.kind === 'group') {
      // The group itself (its key is what the membership holds), unless that key is also a foreign key to
      // the group table (billing_org.org_id -> organizations.id): then it is a 1:1 child of the group.
      const ownKeyFk = t.foreignKeys.some((f) => f.columns.length === 1 && f.columns[0] === best.column);
      const g = t.key.length === 1 && best.column === t.key[0] && !ownKeyFk ? { table: t.table, key: best.column } : groupTable(t, best.column, best.membership, tables);
      if (!g) {
        chosen.delete(t.table);
        unplaced.push({ table: t.table, why: `${best.column} holds a group of ${best.membership.table}, but no foreign key names the group table` });
        continue;
      }
      if (!groups.has(g.table)) groups.set(g.table, { key: g.key, membership: best.membership, why: best.why });
    }
  }

  // The root: the one table the owner paths end at, when it is not isolated by its own policies
  // (CreatorOS: minds.user_id, read through current_mind_id()); else the users table.
  const ownerTables = new Set([...chosen.entries()].filter(([, c]) => c.kind === 'owner').map(([t]) => t));
  const anchorTables = [...new Set(anchors.map((a) => `${a.table}.${a.column}`))];
  let root: TenancyMap['root'];
  if (groups.size === 0 && ownerTables.size === 0 && anchorTables.length === 1) {
    const a = anchors[0]!;
    const shape = tables.get(a.table)!;
    root = { table: a.table, key: shape.key[0] ?? 'id', userColumn: a.column };
    notes[a.table] = `root: ${a.table}.${a.column} is the user id the policies compare with auth.uid()`;
  } else if (input.usersTable) {
    root = { table: input.usersTable, key: 'id', userColumn: 'id' };
    notes[input.usersTable] = `root: the users table (${input.usersTable}); owner columns and memberships point at it`;
    for (const a of anchors) {
      if (!chosen.has(a.table) && a.table !== input.usersTable) chosen.set(a.table, { kind: 'owner', column: a.column, why: `${a.column} = auth.uid() in a sub-select of another table's policy` });
    }
  } else {
    for (const t of chosen.keys()) unplaced.push({ table: t, why: 'no users table (auth.users) to hang owner columns and memberships from' });
    return { map: { root: { table: 'auth.users', key: 'id', userColumn: 'id' }, tables: [] }, notes, unplaced };
  }

  const out: TenantTable[] = [];
  const placed = new Set<string>([root.table]);
  for (const [table, g] of groups) {
    const role = roleOf(g.membership, input.roleValues);
    out.push({ table, key: g.key === 'id' ? undefined : g.key, members: { table: g.membership.table, groupColumn: g.membership.groupColumn, userColumn: g.membership.userColumn, ...(role ? { role } : {}) } });
    notes[table] = `group: ${g.membership.table} links users (${g.membership.userColumn}) to it (${g.membership.groupColumn})${role ? `; role column ${role.column}, owner ${JSON.stringify(role.owner)}${role.member ? `, member ${JSON.stringify(role.member)}` : ''}` : ''}; from ${g.why}`;
    placed.add(table);
  }
  for (const [table, c] of chosen) {
    if (placed.has(table)) continue;
    const membershipOf = [...groups.entries()].find(([, x]) => x.membership.table === table);
    if (membershipOf) {
      const [group, g] = membershipOf;
      out.push({ table, via: { column: g.membership.groupColumn, parent: group, ...(g.key === 'id' ? {} : { parentKey: g.key }) } });
      notes[table] = `membership table of ${group} (its own policies: ${c.why})`;
      placed.add(table);
      continue;
    }
    const pub = published.get(table);
    const base = { table, ...(pub ? { published: pub } : {}) };
    if (c.kind === 'owner') {
      out.push({ ...base, via: { column: c.column, parent: root.table, ...(root.key === 'id' ? {} : { parentKey: root.key }) } });
      notes[table] = `owner column ${c.column} (${c.why})`;
    } else if (c.kind === 'parent') {
      out.push({ ...base, via: { column: c.column, parent: c.parent, ...(c.parentKey === 'id' ? {} : { parentKey: c.parentKey }) } });
      notes[table] = `child of ${c.parent} through ${c.column} (${c.why})`;
    } else {
      const g = [...groups.entries()].find(([, x]) => x.membership.table === c.membership.table && x.membership.groupColumn === c.membership.groupColumn);
      if (!g) continue;
      const isMembership = table === c.membership.table;
      out.push({ ...base, via: { column: c.column, parent: g[0], ...(g[1].key === 'id' ? {} : { parentKey: g[1].key }) } });
      notes[table] = isMembership ? `membership table of ${g[0]} (${c.why})` : `in a group of ${g[0]} through ${c.column} (${c.why})`;
    }
    placed.add(table);
  }
  // Membership tables that the policies read but that have no path of their own hang from their group.
  for (const [table, g] of groups) {
    const m = g.membership.table;
    if (placed.has(m) || !tables.get(m)?.rls) continue;
    out.push({ table: m, via: { column: g.membership.groupColumn, parent: table, ...(g.key === 'id' ? {} : { parentKey: g.key }) } });
    notes[m] = `membership table of ${table}`;
    placed.add(m);
  }
  // Parents outside the map: their children cannot be seeded through them.
  const known = new Set([root.table, ...out.map((t) => t.table)]);
  const kept: TenantTable[] = [];
  let changed = true;
  let pending = out;
  while (changed) {
    changed = false;
    const next: TenantTable[] = [];
    for (const t of pending) {
      if (!t.via || known.has(t.via.parent)) next.push(t);
      else {
        unplaced.push({ table: t.table, why: `its parent ${t.via.parent} has no path to a user` });
        known.delete(t.table);
        changed = true;
      }
    }
    pending = next;
  }
  kept.push(...pending.map((t) => (t.key === undefined ? (({ key: _k, ...rest }) => rest)(t) : t)));
  kept.sort((a, b) => (a.table < b.table ? -1 : 1));

  const tenantTables = new Map(kept.map((t) => [t.table, t]));
  const depth = (table: string, seen = 0): number => {
    const t = tenantTables.get(table);
    return !t?.via || seen > 20 ? 0 : 1 + depth(t.via.parent, seen + 1);
  };
  const views: { view: string; of: string; key: string; tableKey?: string }[] = [];
  for (const v of input.views) {
    const candidates = v.reads.filter((r) => tenantTables.has(r)).sort((a, b) => depth(b) - depth(a));
    const of = candidates.find((r) => v.columns.includes(tables.get(r)?.key[0] ?? 'id') && tables.get(r)?.key.length === 1);
    if (!of) continue;
    const key = tables.get(of)!.key[0]!;
    views.push({ view: v.view, of, key, ...(key === 'id' ? {} : { tableKey: key }) });
    notes[v.view] = `view over ${of}, matched by its ${key} column`;
  }
  const left = unplaced.filter((u) => u.table !== root.table).sort((a, b) => (a.table < b.table ? -1 : 1));
  return { map: { root, tables: kept, ...(views.length ? { views } : {}) }, notes, unplaced: left };
}
