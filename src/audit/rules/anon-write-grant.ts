/** anon writing is rarely intended; TRUNCATE is never subject to RLS at all. */
import type { AuditRule } from '../model.js';
import { finding, isExposed, sqlRelation, tableName, sqlRoles } from './helpers.js';

export const anonWriteGrant: AuditRule = {
  id: 'anon-write-grant',
  level: 'warn',
  splinter: null,
  title: 'Write privileges granted to anon',
  description: 'anon (callers without a login) holds INSERT, UPDATE, DELETE or TRUNCATE on a table in an API-exposed schema: only RLS stands between anonymous callers and writes, and TRUNCATE ignores RLS entirely.',
  fixture: { hole: ['public.h13_anon_writes'], safe: ['public.s13_anon_reads'] },
  check(catalog, settings) {
    const anon = settings.roles.anon;
    return catalog.relations
      .filter((r) => r.kind === 'table' && isExposed(r.schema, settings) && r.privileges[anon])
      .flatMap((r) => {
        const p = r.privileges[anon]!;
        const writes = (['insert', 'update', 'delete', 'truncate'] as const).filter((k) => p[k]).map((k) => k.toUpperCase());
        if (writes.length === 0) return [];
        return [finding(this, {
          object: tableName(r),
          objectType: 'table',
          message: `${anon} may ${writes.join(', ')} on ${tableName(r)}${writes.includes('TRUNCATE') ? ' (TRUNCATE bypasses RLS)' : ''}`,
          fix: `REVOKE ${writes.join(', ')} ON ${sqlRelation(r)} FROM ${sqlRoles([anon])}`,
        })];
      });
  },
};
