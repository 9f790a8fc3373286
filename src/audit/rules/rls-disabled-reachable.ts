/**
 * A table outside the API-exposed schemas, RLS off, that anon or authenticated may still read or
 * write: USAGE on its schema and a privilege on the table (granted to them or to PUBLIC). The API
 * does not list it, so rls-disabled-exposed stays silent, yet any view or invoker function in an
 * exposed schema that reads it hands every row out. The finding names those that exist.
 */
import type { AuditCatalog, AuditRule, AuditSettings, CatalogRead, CatalogRelation } from '../model.js';
import { clientRoles, finding, hasPrivilege, isExposed, isManaged, ROW_COMMANDS, sqlRelation, sqlRoles, tableName } from './helpers.js';
import { quoteIdent } from '../../core/sql.js';

/** How many routes a message names before "and N more". */
const NAMED = 5;

/** Views and functions in exposed schemas that read `table`, directly or through other views and functions. */
export function routesTo(table: string, reads: readonly CatalogRead[], settings: AuditSettings): CatalogRead[] {
  const byTarget = new Map<string, CatalogRead[]>();
  for (const r of reads) byTarget.set(r.reads, [...(byTarget.get(r.reads) ?? []), r]);
  const seen = new Set<string>([table]);
  const routes = new Map<string, CatalogRead>();
  const queue = [table];
  while (queue.length > 0) {
    for (const r of byTarget.get(queue.shift()!) ?? []) {
      // A function is called by its name, whatever the overload: "schema.fn(args)" -> "schema.fn".
      const asTarget = r.readerType === 'function' ? r.reader.replace(/\(.*\)$/s, '') : r.reader;
      if (isExposed(r.readerSchema, settings)) routes.set(r.reader, r);
      if (!seen.has(asTarget)) {
        seen.add(asTarget);
        queue.push(asTarget);
      }
    }
  }
  return [...routes.values()].sort((a, b) => a.reader.localeCompare(b.reader));
}

function privilegesOf(rel: CatalogRelation, role: string): string[] {
  return ROW_COMMANDS.filter((c) => hasPrivilege(rel, role, c));
}

export const rlsDisabledReachable: AuditRule = {
  id: 'rls-disabled-reachable',
  level: 'warn',
  splinter: null,
  title: 'RLS disabled on a table outside the exposed schemas that API roles may use',
  description:
    'Row-level security is off on a table in a schema the API does not expose, but anon or authenticated hold USAGE on that schema and a privilege on the table (directly or through PUBLIC): any view or invoker function in an exposed schema that reads it hands every row out.',
  fixture: { hole: ['fixture_ops.h17_ip_log'], safe: ['fixture_hidden.s17_no_usage', 'fixture_ops.s17_not_granted'] },
  check(catalog: AuditCatalog, settings: AuditSettings) {
    return catalog.relations
      .filter((r) => r.kind === 'table' && !r.rls && !isExposed(r.schema, settings) && !isManaged(r.schema, settings))
      .flatMap((r) => {
        const roles = clientRoles(settings, catalog.apiRolesPresent).filter((role) => r.schemaUsage[role] && privilegesOf(r, role).length > 0);
        if (roles.length === 0) return [];
        const table = tableName(r);
        const routes = routesTo(table, catalog.reach.reads, settings);
        const named = routes.slice(0, NAMED).map((x) => `${x.reader} (${x.readerType})`);
        const more = routes.length > NAMED ? ` and ${routes.length - NAMED} more` : '';
        const sets = roles.map((role) => privilegesOf(r, role).join('/'));
        const grants = sets.every((x) => x === sets[0]) ? sets[0]! : roles.map((role, i) => `${role} ${sets[i]}`).join(', ');
        const viaPublic = catalog.reach.publicRelations.includes(table);
        const revokeFrom = viaPublic ? [...roles, 'public'] : roles;
        const schemaViaPublic = catalog.reach.publicSchemas.includes(r.schema);
        return [finding(this, {
          object: table,
          objectType: 'table',
          message: `RLS is off on ${table}, outside the exposed schemas, yet ${roles.join(' and ')} ${roles.length > 1 ? 'have' : 'has'} USAGE on schema ${r.schema}${schemaViaPublic ? ' (through PUBLIC)' : ''} and ${grants} on it${viaPublic ? ' (partly through PUBLIC)' : ''}: any view or invoker function reading it hands every row out; ${routes.length > 0 ? `read by ${named.join(', ')}${more}` : 'no view or SQL function in an exposed schema reads it yet'}`,
          fix: `ALTER TABLE ${sqlRelation(r)} ENABLE ROW LEVEL SECURITY (no policy: API roles see no row), or REVOKE ALL ON ${sqlRelation(r)} FROM ${sqlRoles(revokeFrom)}, or REVOKE USAGE ON SCHEMA ${quoteIdent(r.schema)} FROM ${sqlRoles(schemaViaPublic ? [...roles, 'public'] : roles)}`,
        })];
      });
  },
};
