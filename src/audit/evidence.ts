/**
 * What a matrix cell carries besides its verdict (model.ts ProbeEvidence): the identities it
 * involved, the SQL that reproduces it in psql, and the fix. Pure: the statements are built from
 * the seeded rows' values as text (seed-sql.ts reads them), so the SQL never depends on a ctid.
 */
import { quoteIdent, quoteLiteral, quoteQualified } from '../core/sql.js';
import { printable } from '../output/text.js';
import type { Identity, MatrixCell, Operation, PlannedCell } from './matrix.js';
import type { ResolvedTenancy } from './tenancy.js';

type Tenant = 'a' | 'b';

/**
 * One probe as portable SQL. count: a SELECT count(*) over the aimed rows; rows: an INSERT, UPDATE
 * or DELETE whose row count is the result; move: an UPDATE through a cursor (so that only WITH
 * CHECK applies); references: INSERTs pointing at the other tenant's row, each beside the same
 * INSERT with an id that does not exist (refused alike, or an existence oracle).
 */
export type ProbeStatement =
  | { kind: 'count'; sql: string; targeted: number }
  | { kind: 'rows'; sql: string; targeted: number; setup?: string[] }
  | { kind: 'move'; cursor: string; sql: string }
  | { kind: 'call'; sql: string; setup?: string[] }
  | { kind: 'references'; attempts: { column: string; theirs: string; unknown: string | null }[] };

/** The cursor a move probe updates through. */
export const MOVE_CURSOR = 'dbkit_move';

const tenantOf = (i: Identity): Tenant | null => (i === 'tenant-a' ? 'a' : i === 'tenant-b' ? 'b' : null);
const otherOf = (i: Identity): Identity => (i === 'tenant-a' ? 'tenant-b' : 'tenant-a');
type Uids = Record<Tenant, string> & { c?: string };

/** The acting identity, then the identities whose rows the operation aimed at. */
export function identitiesOf(cell: Pick<PlannedCell, 'identity' | 'operation'>): string[] {
  const { identity } = cell;
  const tenant = tenantOf(identity) !== null;
  const aimed: Record<Operation, Identity[]> = {
    'select-own': [],
    'insert-own': [],
    'select-published': ['tenant-a'],
    'select-other': tenant ? [otherOf(identity)] : ['tenant-a', 'tenant-b'],
    'update-other': tenant ? [otherOf(identity)] : ['tenant-a', 'tenant-b'],
    'delete-other': tenant ? [otherOf(identity)] : ['tenant-a', 'tenant-b'],
    'insert-other': [otherOf(identity)],
    'move-own': [otherOf(identity)],
    'move-own-returning': [otherOf(identity)],
    'reference-other': [otherOf(identity)],
    'owner-takeover': [otherOf(identity)],
    'self-join': [otherOf(identity)],
    'raise-role': [otherOf(identity)],
    'definer-call': [otherOf(identity)],
    'storage-write': [otherOf(identity)],
  };
  // User C's attacks aim at tenant B's group.
  if (identity === 'outsider') return [identity, 'tenant-b'];
  return [identity, ...aimed[cell.operation].filter((i) => i !== identity)];
}

/** The role and request.jwt.claims an identity acts with, the way Supabase's API sets them. */
export function actingAs(identity: Identity, tenancy: ResolvedTenancy, uids: Uids): { role: string; claims: string } {
  const tenant = tenantOf(identity);
  const user = tenant ? uids[tenant] : identity === 'outsider' ? (uids.c ?? '') : null;
  const role = user !== null ? tenancy.roles.authenticated : identity === 'anon' ? tenancy.roles.anon : tenancy.roles.service;
  const claims = user !== null ? { [tenancy.userClaim]: user, role, aud: 'authenticated' } : { role };
  return { role, claims: JSON.stringify(claims) };
}

/** The statements that make the session act as `identity` (inside a transaction). */
export function impersonationSql(acting: { role: string; claims: string }): string[] {
  return [
    `SET LOCAL ROLE ${quoteIdent(acting.role)};`,
    `SET LOCAL request.jwt.claims = ${quoteLiteral(acting.claims)};`,
    "SET LOCAL request.jwt.claim.sub = '';",
    "SET LOCAL request.jwt.claim.role = '';",
  ];
}

/**
 * `sql` with its $n placeholders replaced by literals. Only dbkit's own statements come here: names
 * are quoted identifiers (skipped over, so a "$1" inside one stays as it is) and every value is a
 * parameter.
 */
export function inlineParams(sql: string, params: readonly unknown[]): string {
  let out = '';
  for (let i = 0; i < sql.length; i += 1) {
    const ch = sql[i]!;
    if (ch === '"') {
      const end = closingQuote(sql, i);
      out += sql.slice(i, end + 1);
      i = end;
      continue;
    }
    const m = ch === '$' ? /^\$(\d+)/.exec(sql.slice(i)) : null;
    if (m) {
      const value = params[Number(m[1]) - 1];
      out += value === null || value === undefined ? 'NULL' : quoteLiteral(String(value));
      i += m[0].length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

function closingQuote(sql: string, start: number): number {
  for (let i = start + 1; i < sql.length; i += 1) {
    if (sql[i] !== '"') continue;
    if (sql[i + 1] === '"') i += 1;
    else return i;
  }
  return sql.length - 1;
}

/** A line of a SQL comment: names from the catalog may hold newlines, which would end the comment. */
export const commentLine = (text: string) => `-- ${printable(text)}`;

export interface ReproductionInput {
  cell: Pick<MatrixCell, 'identity' | 'operation' | 'relation' | 'expected' | 'actual' | 'detail'>;
  /** INSERTs of the seeded rows the probe needs, parents first. */
  seed: readonly string[];
  acting: { role: string; claims: string };
  statement: ProbeStatement;
}

/** The probe's own statements, as psql runs them (a refused attempt is rolled back to a savepoint). */
export function statementLines(statement: ProbeStatement): string[] {
  switch (statement.kind) {
    case 'count':
      return [`${statement.sql};`];
    case 'rows':
    case 'call':
      return [`${statement.sql};`];
    case 'move':
      return [`DECLARE ${MOVE_CURSOR} CURSOR FOR ${statement.cursor};`, `FETCH ${MOVE_CURSOR};`, `${statement.sql};`];
    case 'references':
      return statement.attempts.flatMap((a) => [
        commentLine(`${a.column}: a row of the other tenant, then${a.unknown ? ' an id that does not exist (must be refused alike)' : ' (no unknown id of this type to compare with)'}`),
        'SAVEPOINT dbkit_ref;', `${a.theirs};`, 'ROLLBACK TO SAVEPOINT dbkit_ref;',
        ...(a.unknown ? ['SAVEPOINT dbkit_ref;', `${a.unknown};`, 'ROLLBACK TO SAVEPOINT dbkit_ref;'] : []),
      ]);
  }
}

/** Self-contained SQL for psql: BEGIN, the seed, the impersonation, the probe, ROLLBACK. */
export function reproduction(input: ReproductionInput): string {
  const { cell } = input;
  return [
    commentLine(`dbkit rls-audit: ${cell.identity} ${cell.operation} on ${cell.relation}: expected ${cell.expected}, got ${cell.actual} (${cell.detail})`),
    commentLine('run with psql as the role rls-audit connected as; everything is rolled back'),
    'BEGIN;',
    commentLine(`the seeded rows this probe needs (${input.seed.length}), inserted as the connecting role`),
    ...input.seed.map((s) => `${s};`),
    ...((input.statement.kind === 'rows' || input.statement.kind === 'call') && input.statement.setup?.length ? [commentLine('what the attack starts from, as the connecting role'), ...input.statement.setup.map((x) => `${x};`)] : []),
    commentLine(`act as ${cell.identity}, the way the API does`),
    ...impersonationSql(input.acting),
    commentLine(`the probe: expected ${cell.expected}`),
    ...statementLines(input.statement),
    'ROLLBACK;',
  ].join('\n');
}

const COMMAND: Record<Operation, 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE'> = {
  'select-own': 'SELECT', 'select-other': 'SELECT', 'select-published': 'SELECT', 'insert-own': 'INSERT', 'insert-other': 'INSERT',
  'update-other': 'UPDATE', 'delete-other': 'DELETE', 'move-own': 'UPDATE', 'move-own-returning': 'UPDATE', 'reference-other': 'INSERT',
  'owner-takeover': 'INSERT', 'self-join': 'INSERT', 'raise-role': 'UPDATE', 'definer-call': 'SELECT', 'storage-write': 'INSERT',
};

/** A condition tying a row of `table` to the caller's tenant, for the fix line. */
function ownRows(table: string, tenancy: ResolvedTenancy): string {
  const t = tenancy.tables.find((x) => x.table === table);
  if (!t) return 'a condition tying each row to the caller';
  const memberOf = (m: NonNullable<ResolvedTenancy['tables'][number]['members']>) =>
    `SELECT ${quoteIdent(m.groupColumn)} FROM ${quoteQualified(m.table)} WHERE ${quoteIdent(m.userColumn)} = (select auth.uid())`;
  if (!t.via) return t.members ? `${quoteIdent(t.key)} IN (${memberOf(t.members)})` : 'a condition tying each row to the caller';
  if (t.via.parent === tenancy.root.table) {
    const root = tenancy.root;
    if (root.key === root.userColumn) return `${quoteIdent(t.via.column)} = (select auth.uid())`;
    return `${quoteIdent(t.via.column)} IN (SELECT ${quoteIdent(root.key)} FROM ${quoteQualified(root.table)} WHERE ${quoteIdent(root.userColumn)} = (select auth.uid()))`;
  }
  const parent = tenancy.tables.find((x) => x.table === t.via!.parent);
  if (parent?.members) return `${quoteIdent(t.via.column)} IN (${memberOf(parent.members)})`;
  return `${quoteIdent(t.via.column)} IN (SELECT ${quoteIdent(t.via.parentKey)} FROM ${quoteQualified(t.via.parent)})`;
}

/** One line: what to change so that the cell comes out as the tenancy map says. Empty when it does. */
export function fixFor(cell: Pick<MatrixCell, 'identity' | 'operation' | 'relation' | 'verdict' | 'detail' | 'kind'>, tenancy: ResolvedTenancy): string {
  const rel = quoteQualified(cell.relation);
  const view = tenancy.views.find((v) => v.view === cell.relation);
  const table = view?.of ?? cell.relation;
  const command = COMMAND[cell.operation];
  const role = quoteIdent(actingAs(cell.identity, tenancy, { a: '', b: '' }).role);
  switch (cell.verdict) {
    case 'ok':
      return '';
    case 'error':
      return `the probe could not run: give ${table}'s required columns values in the tenancy map (values, probeValues), or fix what the error names`;
    case 'blocked':
      return `${cell.identity} must be able to ${command} these rows of ${rel} (the tenancy map says so): GRANT ${command} ON ${rel} TO ${role} and a ${command} policy for ${role} that admits them, or correct the map if the denial is intended`;
    case 'leak':
      break;
  }
  if (cell.identity === 'anon') return `anon must not ${command} ${rel}: REVOKE ${command} ON ${rel} FROM ${role}, or restrict its ${command} policies to authenticated (TO authenticated)`;
  if (view) return `the view ${rel} shows rows the caller may not see: ALTER VIEW ${rel} SET (security_invoker = true) so that the policies of ${quoteQualified(view.of)} apply`;
  const own = ownRows(table, tenancy);
  switch (cell.operation) {
    case 'select-own':
    case 'select-other':
    case 'select-published':
      return `the SELECT policies on ${rel} for ${role} admit another tenant's rows: USING (${own})`;
    case 'insert-own':
    case 'insert-other':
      return `the INSERT policies on ${rel} accept a row of another tenant: WITH CHECK (${own})`;
    case 'update-other':
    case 'delete-other':
      return `the ${command} policies on ${rel} reach another tenant's rows: USING (${own})`;
    case 'move-own':
    case 'move-own-returning':
      return `an UPDATE can move an own row of ${rel} into another tenant: give its UPDATE policy WITH CHECK (${own}), or drop a WITH CHECK weaker than USING (USING alone is also the check)`;
    case 'reference-other':
      return cell.detail.includes('existence oracle')
        ? `a reference to another tenant's row of ${rel} is refused unlike an unknown id (an existence oracle): refuse both alike, e.g. check it in WITH CHECK against the caller's rows`
        : `an own row of ${rel} can point at another tenant's row: tie the reference to the tenant with a composite foreign key (reference, tenant column), or WITH CHECK that it is one of the caller's rows`;
    default:
      return `restrict ${command} on ${rel} to the caller's own rows: ${own}`;
  }
}
