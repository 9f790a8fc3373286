/**
 * Values for columns dbkit must invent when seeding: from the column's type, its enum labels and
 * what its CHECK constraints allow (a list of values, a lower bound, a minimum length). Pure: the
 * constraints come in as pg_get_constraintdef text and are read with PostgreSQL's parser.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { nodes, parseExpression, type Expr } from './expr.js';

export interface ColumnDomain {
  /** The only values a CHECK allows (col IN (...), col = ANY (ARRAY[...]), col = 'x'). */
  allowed: string[] | null;
  /** A CHECK lower bound (col > n, col >= n). */
  min: number | null;
  /** A CHECK minimum length (length(col) > n, char_length(col) >= n). */
  minLength: number | null;
}

const unwrap = (e: Expr): Expr => (e.kind === 'cast' ? unwrap(e.arg) : e);
const constOf = (e: Expr): string | number | null => {
  const u = unwrap(e);
  return u.kind === 'const' && u.value !== null && typeof u.value !== 'boolean' ? u.value : null;
};
const columnOf = (e: Expr | null): string | null => {
  const u = e && unwrap(e);
  return u?.kind === 'column' ? u.path[u.path.length - 1]! : null;
};

/** What each column's CHECK constraints allow, from their definitions ("CHECK ((role = ANY (...)))"). */
export function checkDomains(definitions: readonly string[]): Map<string, ColumnDomain> {
  const out = new Map<string, ColumnDomain>();
  const domain = (col: string) => {
    let d = out.get(col);
    if (!d) out.set(col, (d = { allowed: null, min: null, minLength: null }));
    return d;
  };
  for (const def of definitions) {
    const body = /^CHECK\s*\((.*)\)(\s+NOT VALID)?$/s.exec(def.trim())?.[1];
    if (!body) continue;
    let tree: Expr;
    try {
      tree = parseExpression(body);
    } catch {
      continue;
    }
    for (const n of nodes(tree)) {
      if (n.kind !== 'op' || !n.left || !n.right) continue;
      const col = columnOf(n.left);
      if (col && (n.form === 'op_any' || n.form === 'in') && n.op === '=') {
        const list = [...nodes(n.right)].map((x) => (x.kind === 'const' ? x.value : null)).filter((v): v is string | number => typeof v === 'string' || typeof v === 'number');
        if (list.length > 0) domain(col).allowed = list.map(String);
      } else if (col && n.form === 'op' && n.op === '=' && constOf(n.right) !== null) {
        domain(col).allowed = [String(constOf(n.right))];
      } else if (col && n.form === 'op' && (n.op === '>' || n.op === '>=') && typeof constOf(n.right) === 'number') {
        domain(col).min = (constOf(n.right) as number) + (n.op === '>' ? 1 : 0);
      } else if (n.form === 'op' && (n.op === '>' || n.op === '>=') && typeof constOf(n.right) === 'number') {
        const left = unwrap(n.left);
        const lengthOf = left.kind === 'call' && ['length', 'char_length', 'character_length'].includes(left.name[left.name.length - 1]!) ? columnOf(left.args[0] ?? null) : null;
        if (lengthOf) domain(lengthOf).minLength = (constOf(n.right) as number) + (n.op === '>' ? 1 : 0);
      }
    }
  }
  return out;
}

export interface InventColumn {
  name: string;
  type: string;
  category: string;
  enumLabels: string[] | null;
}

/**
 * A value for a NOT NULL column. `n` is unique in the run: allowed values and enum labels rotate
 * with it (two rows differ where a key includes the column), strings and numbers carry it.
 * null: dbkit cannot make one for this type.
 */
export function inventValue(col: InventColumn, domain: ColumnDomain | undefined, n: number, tenant: string): string | null {
  if (domain?.allowed?.length) return domain.allowed[n % domain.allowed.length]!;
  if (col.enumLabels?.length) return col.enumLabels[n % col.enumLabels.length]!;
  if (col.type === 'uuid') return randomUUID();
  if (col.type === 'json' || col.type === 'jsonb') return '{}';
  if (col.type === 'inet' || col.type === 'cidr') return `10.${n % 250}.${Math.floor(n / 250) % 250}.1`;
  if (col.type === 'tsvector') return '';
  if (col.type.endsWith('[]')) return '{}';
  switch (col.category) {
    case 'S': {
      const text = `dbkit-rls-${tenant}-${n}-${randomBytes(4).toString('hex')}`;
      const min = domain?.minLength ?? 0;
      const limit = /\((\d+)\)$/.exec(col.type);
      const padded = text.length < min ? text.padEnd(min, 'x') : text;
      return limit ? padded.slice(-Number(limit[1])) : padded;
    }
    case 'N': {
      if (col.type === 'smallint') return String((domain?.min ?? 1000) + (n % 20000));
      return String(Math.max(domain?.min ?? 0, 1_000_000) + n * 1000 + Math.floor(Math.random() * 1000));
    }
    case 'B':
      return 'false';
    case 'D':
      return col.type === 'interval' ? '1 day' : col.type.startsWith('time') && !col.type.startsWith('timestamp') ? '12:00' : new Date().toISOString();
    case 'A':
      return '{}';
    default:
      return null;
  }
}
