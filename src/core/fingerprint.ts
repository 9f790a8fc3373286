/**
 * Schema fingerprints: a canonical snapshot of the catalogs, its hash, and a readable diff.
 * Pure: the snapshot is read by db/fingerprint.ts.
 */
import { createHash } from 'node:crypto';

export interface ColumnSnapshot {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  identity: string;
  generated: string;
  grants: string[];
}

export interface PolicySnapshot {
  name: string;
  permissive: boolean;
  /** r = SELECT, a = INSERT, w = UPDATE, d = DELETE, * = ALL */
  command: string;
  roles: string[];
  using: string | null;
  check: string | null;
}

export interface RelationSnapshot {
  name: string;
  /** r table, p partitioned table, v view, m materialized view, S sequence, f foreign table, c composite type */
  kind: string;
  owner: string;
  rls: boolean;
  forceRls: boolean;
  options: string[];
  grants: string[];
  viewDef: string | null;
  columns: ColumnSnapshot[];
  constraints: { name: string; type: string; def: string }[];
  indexes: { name: string; def: string; valid: boolean }[];
  triggers: { name: string; def: string; enabled: string }[];
  policies: PolicySnapshot[];
}

export interface FunctionSnapshot {
  name: string;
  kind: string;
  result: string;
  language: string;
  volatility: string;
  securityDefiner: boolean;
  config: string[];
  owner: string;
  sourceMd5: string;
  grants: string[];
}

export interface SchemaSnapshot {
  schemas: { name: string; owner: string; grants: string[] }[];
  extensions: { name: string; schema: string }[];
  relations: RelationSnapshot[];
  functions: FunctionSnapshot[];
  types: { name: string; kind: string; labels: string[] | null; base: string | null }[];
}

export interface Fingerprint {
  hash: string;
  snapshot: SchemaSnapshot;
}

/** JSON with object keys sorted, so the hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function fingerprintOf(snapshot: SchemaSnapshot): Fingerprint {
  return { hash: createHash('sha256').update(canonicalJson(snapshot)).digest('hex'), snapshot };
}

export interface SnapshotDifference {
  /** e.g. "relation public.contents > columns > creator_mind_id" */
  path: string;
  change: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

type Named = { name: string };

function isNamedList(value: unknown): value is Named[] {
  return Array.isArray(value) && value.every((v) => v !== null && typeof v === 'object' && typeof (v as Named).name === 'string');
}

function diffValue(path: string, before: unknown, after: unknown, out: SnapshotDifference[]): void {
  if (canonicalJson(before) === canonicalJson(after)) return;
  if (isNamedList(before) && isNamedList(after)) {
    const a = new Map(before.map((item) => [item.name, item]));
    const b = new Map(after.map((item) => [item.name, item]));
    for (const [name, item] of a) {
      if (!b.has(name)) out.push({ path: `${path} > ${name}`, change: 'removed', before: item });
      else diffValue(`${path} > ${name}`, item, b.get(name), out);
    }
    for (const [name, item] of b) if (!a.has(name)) out.push({ path: `${path} > ${name}`, change: 'added', after: item });
    return;
  }
  if (before && after && typeof before === 'object' && typeof after === 'object' && !Array.isArray(before) && !Array.isArray(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of [...keys].sort()) {
      if (key === 'name') continue;
      diffValue(`${path} > ${key}`, (before as Record<string, unknown>)[key], (after as Record<string, unknown>)[key], out);
    }
    return;
  }
  out.push({ path, change: 'changed', before, after });
}

/** Every difference between two snapshots, as readable paths. Empty means identical. */
export function diffSnapshots(before: SchemaSnapshot, after: SchemaSnapshot): SnapshotDifference[] {
  const out: SnapshotDifference[] = [];
  for (const key of ['schemas', 'extensions', 'relations', 'functions', 'types'] as const) {
    diffValue(key, before[key], after[key], out);
  }
  return out;
}

export function formatDifference(d: SnapshotDifference): string {
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  switch (d.change) {
    case 'added':
      return `+ ${d.path}`;
    case 'removed':
      return `- ${d.path}`;
    case 'changed':
      return `~ ${d.path}: ${show(d.before)} -> ${show(d.after)}`;
  }
}
