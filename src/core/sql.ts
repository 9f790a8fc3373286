/**
 * The one way dbkit writes names and literals into SQL text: quoteIdent quotes exactly as
 * PostgreSQL's quote_ident() does (a name stays bare only when it is lower case letters, digits and
 * underscores, does not start with a digit, and is not a reserved, column-name or type/function-name
 * keyword: `user`, `select`, `time` are quoted), so `p"; drop table x; --` becomes one identifier.
 * Pure.
 */
import { QUOTED_KEYWORDS } from './sql-keywords.js';

const KEYWORDS: ReadonlySet<string> = new Set(QUOTED_KEYWORDS);
const BARE = /^[a-z_][a-z0-9_]*$/;

/** Whether PostgreSQL would read `name` unquoted as this same identifier. */
export const isBareIdentifier = (name: string): boolean => BARE.test(name) && !KEYWORDS.has(name);

/** An identifier, quoted when PostgreSQL needs it to be (as quote_ident). */
export function quoteIdent(name: string): string {
  return isBareIdentifier(name) ? name : quoteIdentAlways(name);
}

/** An identifier, always quoted (GRANTs in hints quote every name, as pg_dump --quote-all-identifiers). */
export function quoteIdentAlways(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A schema-qualified name: "public.contents", or { schema, name } (each part quoted on its own); `quote` picks quoteIdent or quoteIdentAlways. */
export function quoteQualified(name: string | { schema: string; name: string }, quote: (part: string) => string = quoteIdent): string {
  const parts = typeof name === 'string' ? splitQualified(name) : [name.schema, name.name];
  return parts.map((part) => quote(part)).join('.');
}

/**
 * "schema.table" -> ["schema", "table"]. The first dot separates: dbkit's declarations (policies/,
 * the tenancy map) name relations as schema.table with no dot inside either part.
 */
export function splitQualified(name: string): string[] {
  const dot = name.indexOf('.');
  return dot < 0 ? [name] : [name.slice(0, dot), name.slice(dot + 1)];
}

/** A string literal (standard_conforming_strings, on since PostgreSQL 9.1: backslashes are plain). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A role in a GRANT/REVOKE/CREATE POLICY list: the pseudo-role public is the keyword PUBLIC. */
export function quoteRole(role: string): string {
  return role === 'public' ? 'PUBLIC' : quoteIdent(role);
}

/**
 * The same SQL as dbkit up to 0.1 quoted it: names that are keywords were left bare (`public.user`).
 * Only used to recognise checksums recorded then (see migrations/load.ts), never to build SQL.
 */
export function withLegacyKeywordQuoting(sql: string): string {
  return sql.replace(/"([a-z_][a-z0-9_]*)"/g, (quoted, word: string) => (KEYWORDS.has(word) ? word : quoted));
}
