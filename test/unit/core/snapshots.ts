/** Small schema snapshots for the pure fingerprint and validation tests. */
import type { ColumnSnapshot, RelationSnapshot, SchemaSnapshot } from '../../../src/core/fingerprint.ts';

export function column(name: string, type = 'text', extra: Partial<ColumnSnapshot> = {}): ColumnSnapshot {
  return { name, type, notNull: false, default: null, identity: '', generated: '', grants: [], ...extra };
}

export function relation(name: string, extra: Partial<RelationSnapshot> = {}): RelationSnapshot {
  return {
    name,
    kind: 'r',
    owner: 'postgres',
    rls: false,
    forceRls: false,
    options: [],
    grants: ['postgres:SELECT'],
    viewDef: null,
    columns: [column('id', 'uuid', { notNull: true })],
    constraints: [],
    indexes: [],
    triggers: [],
    policies: [],
    ...extra,
  };
}

export function snapshot(extra: Partial<SchemaSnapshot> = {}): SchemaSnapshot {
  return { schemas: [{ name: 'public', owner: 'postgres', grants: [] }], extensions: [], relations: [], functions: [], types: [], ...extra };
}
