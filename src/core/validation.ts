/**
 * Validation counts: claims about the catalogs that must hold once a migration is applied (and,
 * for some, once it is reverted), declared as data beside the migrations and evaluated here,
 * purely, against a schema snapshot.
 */

export type Check =
  | { kind: 'relations'; label: string; names: readonly string[]; present: boolean }
  | { kind: 'columns'; label: string; table: string; columns: readonly string[]; present: boolean }
  /** present: exists and valid. */
  | { kind: 'indexes'; label: string; names: readonly string[]; present: boolean }
  | { kind: 'rls'; label: string; tables: readonly string[]; enabled: boolean; forced: boolean }
  | { kind: 'policyCount'; label: string; tables: readonly string[]; count: number }
  /** present: each named policy exists on the table (absent: none does). */
  | { kind: 'policies'; label: string; table: string; names: readonly string[]; present: boolean }
  /** present: each named constraint exists on the table (absent: none does). */
  | { kind: 'constraints'; label: string; table: string; names: readonly string[]; present: boolean }
  | { kind: 'viewOption'; label: string; view: string; option: string; present: boolean }
  | { kind: 'functions'; label: string; signatures: readonly string[]; present: boolean }
  | { kind: 'noGrant'; label: string; grantee: string; relations: readonly string[]; privileges: readonly string[] }
  | { kind: 'roles'; label: string; roles: readonly { name: string; bypassRls?: boolean }[] };

export type CheckKind = Check['kind'];

/** Every kind of check, once (a Record so that a new kind that is not listed does not compile). */
const CHECK_KIND_TABLE: Record<CheckKind, true> = { relations: true, columns: true, indexes: true, rls: true, policyCount: true, policies: true, constraints: true, viewOption: true, functions: true, noGrant: true, roles: true };
export const CHECK_KINDS = Object.keys(CHECK_KIND_TABLE) as readonly CheckKind[];

export interface MigrationExpectation {
  /** Must hold while the migration is applied. */
  applied: readonly Check[];
  /** Must hold while it is not (after a rollback). */
  reverted: readonly Check[];
}

export type ExpectationSet = Readonly<Record<string, MigrationExpectation>>;

export interface RoleFacts {
  name: string;
  bypassRls: boolean;
  superuser: boolean;
}

/** The part of a schema snapshot the checks read (a full SchemaSnapshot fits it too). */
export interface ValidationSnapshot {
  relations: readonly {
    name: string;
    kind: string;
    rls: boolean;
    forceRls: boolean;
    options: readonly string[];
    grants: readonly string[];
    columns: readonly { name: string }[];
    indexes: readonly { name: string; valid: boolean }[];
    constraints: readonly { name: string }[];
    policies: readonly { name: string }[];
  }[];
  functions: readonly { name: string }[];
}

type ValidationRelation = ValidationSnapshot['relations'][number];

export interface Observed {
  snapshot: ValidationSnapshot;
  roles: readonly RoleFacts[];
}

export interface CheckResult {
  label: string;
  kind: CheckKind;
  migration: string;
  when: 'applied' | 'reverted';
  ok: boolean;
  expected: string;
  actual: string;
}

const countWhere = <T>(items: readonly T[], predicate: (item: T) => boolean) => items.filter(predicate).length;

function evaluate(check: Check, observed: Observed): { ok: boolean; expected: string; actual: string } {
  const relations = new Map(observed.snapshot.relations.map((r) => [r.name, r]));
  const rel = (name: string): ValidationRelation | undefined => relations.get(name);
  const fraction = (n: number, total: number, want: number) => ({ ok: n === want, expected: `${want}/${total}`, actual: `${n}/${total}` });
  switch (check.kind) {
    case 'relations': {
      const n = countWhere(check.names, (name) => relations.has(name) === check.present);
      return fraction(n, check.names.length, check.names.length);
    }
    case 'columns': {
      const table = rel(check.table);
      const names = new Set(table?.columns.map((c) => c.name) ?? []);
      const n = countWhere(check.columns, (c) => names.has(c) === check.present);
      return fraction(n, check.columns.length, check.columns.length);
    }
    case 'indexes': {
      const all = new Map<string, { valid: boolean }>(observed.snapshot.relations.flatMap((r) => r.indexes.map((i): [string, { valid: boolean }] => [`${r.name.split('.')[0]}.${i.name}`, i])));
      const n = countWhere(check.names, (name) => (check.present ? all.get(name)?.valid === true : !all.has(name)));
      return fraction(n, check.names.length, check.names.length);
    }
    case 'rls': {
      const n = countWhere(check.tables, (t) => {
        const r = rel(t);
        return r !== undefined && r.rls === check.enabled && r.forceRls === check.forced;
      });
      return fraction(n, check.tables.length, check.tables.length);
    }
    case 'policyCount': {
      const n = check.tables.reduce((sum, t) => sum + (rel(t)?.policies.length ?? 0), 0);
      return { ok: n === check.count, expected: String(check.count), actual: String(n) };
    }
    case 'policies':
    case 'constraints': {
      const table = rel(check.table);
      const names = new Set((check.kind === 'policies' ? table?.policies : table?.constraints)?.map((x) => x.name) ?? []);
      const n = countWhere(check.names, (name) => names.has(name) === check.present);
      return fraction(n, check.names.length, check.names.length);
    }
    case 'viewOption': {
      const has = rel(check.view)?.options.includes(check.option) ?? false;
      return { ok: has === check.present, expected: check.present ? check.option : `no ${check.option}`, actual: has ? check.option : rel(check.view) ? 'option not set' : 'view missing' };
    }
    case 'functions': {
      const names = new Set(observed.snapshot.functions.map((f) => f.name));
      const n = countWhere(check.signatures, (s) => names.has(s) === check.present);
      return fraction(n, check.signatures.length, check.signatures.length);
    }
    case 'noGrant': {
      const offending = check.relations.flatMap((r) =>
        (rel(r)?.grants ?? []).filter((g) => {
          const [grantee, privilege] = g.replace(/\*$/, '').split(':');
          return grantee === check.grantee && check.privileges.includes(privilege ?? '');
        }).map((g) => `${r} ${g}`),
      );
      return { ok: offending.length === 0, expected: 'none', actual: offending.length === 0 ? 'none' : offending.join(', ') };
    }
    case 'roles': {
      const roles = new Map(observed.roles.map((r) => [r.name, r]));
      const n = countWhere(check.roles, (want) => {
        const have = roles.get(want.name);
        return have !== undefined && (want.bypassRls === undefined || have.bypassRls === want.bypassRls || have.superuser);
      });
      return fraction(n, check.roles.length, check.roles.length);
    }
    default: {
      const unreachable: never = check;
      throw new Error(`unknown check ${JSON.stringify(unreachable)}`);
    }
  }
}

export interface ValidationTarget {
  migration: string;
  /** applied: its applied-state checks; reverted: the checks for right after its down. */
  when: 'applied' | 'reverted';
}

/** Evaluates the expectations of the given migrations in the given states. */
export function validate(expectations: ExpectationSet, targets: readonly ValidationTarget[], observed: Observed): CheckResult[] {
  // A later migration may restate a check an earlier one declared (same policies, same count):
  // it is evaluated and shown once, attributed to the latest migration that declares it.
  const results = new Map<string, CheckResult>();
  for (const { migration, when } of targets) {
    const expectation = expectations[migration];
    if (!expectation) continue;
    for (const check of expectation[when]) {
      const key = `${when}\u0000${JSON.stringify(check)}`;
      results.delete(key);
      results.set(key, { label: check.label, kind: check.kind, migration, when, ...evaluate(check, observed) });
    }
  }
  return [...results.values()];
}

/** Every role name the checks mention, so the caller can fetch just those. */
export function rolesMentioned(expectations: ExpectationSet): string[] {
  const names = new Set<string>();
  for (const e of Object.values(expectations)) {
    for (const check of [...e.applied, ...e.reverted]) if (check.kind === 'roles') for (const r of check.roles) names.add(r.name);
  }
  return [...names];
}
