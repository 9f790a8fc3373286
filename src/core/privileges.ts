/**
 * The privileges a command needs, as data, and what to tell a user who lacks some: each missing
 * privilege named, with the GRANT (or ALTER ROLE) an administrator runs to fix it. Pure: the
 * catalog questions are asked in src/db/privileges.ts.
 */
import { quoteIdentAlways, quoteQualified } from './sql.js';

export const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
export type TablePrivilege = (typeof TABLE_PRIVILEGES)[number];

/** One thing a command needs from the role it connects as. Names are "schema.name". */
export type PrivilegeNeed =
  | { on: 'database'; privilege: 'CREATE' | 'TEMPORARY' }
  /** Only the database's owner (or a superuser) may clone, replace or rename it; `why` says which. */
  | { on: 'database-owner'; why: string }
  | { on: 'schema'; name: string; privilege: 'USAGE' | 'CREATE' }
  | { on: 'table'; name: string; privileges: readonly TablePrivilege[] }
  | { on: 'sequence'; name: string; privilege: 'USAGE' | 'SELECT' }
  /** May SET ROLE to it (impersonation in the isolation matrix). */
  | { on: 'role'; name: string }
  | { on: 'attribute'; attribute: 'CREATEDB' }
  /** Rows of these tables ('all': of every table) must not be hidden by row-level security. */
  | { on: 'rls-bypass'; tables: readonly string[] | 'all'; why: string }
  /** Read access to everything a backup reads: every schema, table and sequence (detail: "schema s" or "s.table"). */
  | { on: 'dump' };

/** A need the role does not meet: what it lacks, and the statement that grants it. */
export interface MissingPrivilege {
  what: string;
  grant: string;
}

/** Every name in a GRANT is quoted (names come from the catalog or the user). */
const q = quoteIdentAlways;
/** "schema.name" as a quoted qualified name; a name without a dot stays one identifier. */
export const quoteName = (qualified: string) => quoteQualified(qualified, quoteIdentAlways);

export interface Grantee {
  role: string;
  database: string;
}

const listed = (items: readonly string[], max = 3) => `${items.slice(0, max).join(', ')}${items.length > max ? ` and ${items.length - max} more` : ''}`;

/** What a need asks for, in words and as the statement that grants it. */
export function describeNeed(need: PrivilegeNeed, who: Grantee, detail: readonly string[] = []): MissingPrivilege {
  const role = q(who.role);
  switch (need.on) {
    case 'database':
      return { what: `${need.privilege} on database ${who.database}`, grant: `GRANT ${need.privilege} ON DATABASE ${q(who.database)} TO ${role}` };
    case 'database-owner':
      return { what: `ownership of database ${who.database} (${need.why})`, grant: `ALTER DATABASE ${q(who.database)} OWNER TO ${role}` };
    case 'schema':
      return { what: `${need.privilege} on schema ${need.name}`, grant: `GRANT ${need.privilege} ON SCHEMA ${q(need.name)} TO ${role}` };
    case 'table':
      return { what: `${need.privileges.join(', ')} on table ${need.name}`, grant: `GRANT ${need.privileges.join(', ')} ON TABLE ${quoteName(need.name)} TO ${role}` };
    case 'sequence':
      return { what: `${need.privilege} on sequence ${need.name}`, grant: `GRANT ${need.privilege} ON SEQUENCE ${quoteName(need.name)} TO ${role}` };
    case 'role':
      return { what: `membership in role ${need.name} (to SET ROLE ${need.name})`, grant: `GRANT ${q(need.name)} TO ${role}` };
    case 'attribute':
      return { what: `the ${need.attribute} attribute`, grant: `ALTER ROLE ${role} ${need.attribute}` };
    case 'rls-bypass':
      return { what: `BYPASSRLS: row-level security hides rows of ${listed(detail)} from it, so ${need.why}`, grant: `ALTER ROLE ${role} BYPASSRLS` };
    case 'dump': {
      const noUsage = detail.filter((d) => d.startsWith('schema ')).map((d) => d.slice('schema '.length));
      const noSelect = [...new Set(detail.filter((d) => !d.startsWith('schema ')).map((d) => d.split('.')[0]!))];
      return {
        what: `read access to every schema, table and sequence a backup reads: ${listed(detail)}`,
        grant: [
          ...noUsage.map((s) => `GRANT USAGE ON SCHEMA ${q(s)} TO ${role}`),
          ...noSelect.flatMap((s) => [`GRANT SELECT ON ALL TABLES IN SCHEMA ${q(s)} TO ${role}`, `GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${q(s)} TO ${role}`]),
        ].join('; '),
      };
    }
    default: {
      const unhandled: never = need;
      throw new Error(`unhandled privilege need ${JSON.stringify(unhandled)}`);
    }
  }
}

/** The statements that grant what is missing, each once. */
export function grants(missing: readonly MissingPrivilege[]): string {
  const statements = missing.flatMap((m) => m.grant.split('; '));
  return [...new Set(statements)].map((g) => `${g};`).join(' ');
}

/** One line naming every missing privilege, and a hint with the statements that grant them. */
export function privilegeProblem(missing: readonly MissingPrivilege[], who: Grantee, purpose: string): { message: string; hint: string } {
  const n = missing.length;
  return {
    message: `user "${who.role}" lacks ${n === 1 ? 'a privilege' : `${n} privileges`} that ${purpose} needs: ${missing.map((m) => m.what).join('; ')}`,
    hint: `an administrator can grant ${n === 1 ? 'it' : 'them'}: ${grants(missing)} (README: "Running as a least-privilege role"). Nothing was changed.`,
  };
}

const OBJECT_KINDS: Record<string, string> = {
  table: 'SELECT (to read), INSERT, UPDATE or DELETE (to write)',
  view: 'SELECT',
  'materialized view': 'SELECT',
  sequence: 'USAGE',
  schema: 'USAGE (to use its objects) or CREATE (to create objects in it)',
  function: 'EXECUTE',
  procedure: 'EXECUTE',
  database: 'CONNECT, CREATE or TEMPORARY',
  type: 'USAGE',
  language: 'USAGE',
};

/**
 * The hint for a permission error (SQLSTATE 42501) the server raised: which object, and the
 * GRANT that fixes it. `role` is the role dbkit connected as, when known.
 */
export function permissionHint(serverMessage: string, role: string | null): string {
  const to = role ? q(role) : '<the role dbkit connects as>';
  const denied = /permission denied for (materialized view|table|view|sequence|schema|function|procedure|database|type|language) ("[^"]+"|[^\s,;:()]+)/.exec(serverMessage);
  if (denied) {
    const [, kind, object] = denied as unknown as [string, string, string];
    const privileges = OBJECT_KINDS[kind] ?? 'the privilege it needs';
    const first = privileges.split(' ')[0]!.replace(/,$/, '');
    return `an administrator can grant it: GRANT ${first} ON ${kind === 'materialized view' || kind === 'view' ? 'TABLE' : kind.toUpperCase()} ${object.startsWith('"') ? object : q(object)} TO ${to} (it needs ${privileges}; README: "Running as a least-privilege role")`;
  }
  const rls = /(?:new row violates row-level security policy|query would be affected by row-level security policy) for table "?([^"]+)"?/.exec(serverMessage);
  if (rls) return `row-level security on ${rls[1]} applies to ${role ? `"${role}"` : 'this role'}: connect as a role that bypasses it (ALTER ROLE ${to} BYPASSRLS) or as the table's owner (README: "Running as a least-privilege role")`;
  if (/^must be owner of/.test(serverMessage)) return `connect as the owner of that object (or a member of its owning role), or transfer it: ALTER ... OWNER TO ${to} (README: "Running as a least-privilege role")`;
  const setRole = /permission denied to set role "?([^"]+)"?/.exec(serverMessage);
  if (setRole) return `an administrator can grant it: GRANT ${q(setRole[1]!)} TO ${to}`;
  return `connect as a role with the privilege this needs, or have an administrator grant it to ${to} (README: "Running as a least-privilege role")`;
}
