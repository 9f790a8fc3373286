/**
 * --export-pgtap: the isolation matrix as a pgTAP suite for tests-sql/, so that `dbkit test` keeps
 * proving it on every run. The file inserts the rows the audit seeded (values as read back), then
 * asserts every cell: a PL/pgSQL helper acts as the cell's identity (role and request.jwt.claims,
 * the way the API does) inside a block that it always aborts, so that neither the probe's writes
 * nor the role outlive the test, and returns the outcome in the matrix's words (allow, deny,
 * partial, error ...). Each test expects what the tenancy map implies. Pure.
 */
import { quoteIdent, quoteLiteral, quoteQualified } from '../core/sql.js';
import { printable } from '../output/text.js';
import { commentLine, MOVE_CURSOR, type ProbeStatement } from './evidence.js';
import type { MatrixCell } from './matrix.js';
import type { MatrixProof } from './proof.js';

/** The helpers, created in pg_temp (gone with the transaction dbkit test rolls back). */
const HELPERS = `CREATE FUNCTION pg_temp.dbkit_probe(p_role text, p_claims text, p_kind text, p_sql text, p_aimed int, p_cursor text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $dbkit$
DECLARE
  n bigint := 0;
  outcome text;
  c refcursor := '${MOVE_CURSOR}';
  r record;
BEGIN
  BEGIN
    PERFORM set_config('role', p_role, true), set_config('request.jwt.claims', p_claims, true),
            set_config('request.jwt.claim.sub', '', true), set_config('request.jwt.claim.role', '', true);
    IF p_kind = 'count' THEN
      EXECUTE p_sql INTO n;
    ELSE
      IF p_kind = 'move' THEN
        OPEN c FOR EXECUTE p_cursor;
        FETCH c INTO r;
        IF NOT FOUND THEN
          outcome := 'deny';  -- no UPDATE policy admits the own row
          RAISE SQLSTATE 'DBKUN';
        END IF;
      END IF;
      EXECUTE p_sql;
      GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    outcome := CASE WHEN n = 0 THEN 'deny' WHEN n >= p_aimed THEN 'allow' ELSE 'partial' END;
    RAISE SQLSTATE 'DBKUN';  -- undo the probe's writes and the role
  EXCEPTION
    WHEN SQLSTATE 'DBKUN' THEN NULL;
    WHEN insufficient_privilege THEN outcome := 'deny';
    WHEN foreign_key_violation THEN outcome := CASE WHEN p_sql LIKE 'DELETE %' THEN 'allow' ELSE 'error 23503: ' || SQLERRM END;
    WHEN OTHERS THEN outcome := 'error ' || SQLSTATE || ': ' || SQLERRM;
  END;
  RETURN outcome;
END
$dbkit$;

CREATE FUNCTION pg_temp.dbkit_refusal(p_role text, p_claims text, p_sql text)
RETURNS text LANGUAGE plpgsql AS $dbkit$
DECLARE
  outcome text;
  k text;
BEGIN
  BEGIN
    PERFORM set_config('role', p_role, true), set_config('request.jwt.claims', p_claims, true),
            set_config('request.jwt.claim.sub', '', true), set_config('request.jwt.claim.role', '', true);
    EXECUTE p_sql;
    outcome := 'accepted';
    RAISE SQLSTATE 'DBKUN';
  EXCEPTION
    WHEN SQLSTATE 'DBKUN' THEN NULL;
    WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS k = CONSTRAINT_NAME;
      outcome := SQLSTATE || ' ' || coalesce(k, '');
  END;
  RETURN outcome;
END
$dbkit$;

-- A reference to the other tenant's row must be refused (RLS or the foreign key) exactly like an unknown id.
CREATE FUNCTION pg_temp.dbkit_reference(p_role text, p_claims text, p_theirs text, p_unknown text)
RETURNS text LANGUAGE plpgsql AS $dbkit$
DECLARE
  theirs text := pg_temp.dbkit_refusal(p_role, p_claims, p_theirs);
BEGIN
  IF theirs = 'accepted' THEN RETURN 'allow'; END IF;
  IF split_part(theirs, ' ', 1) NOT IN ('42501', '23503') THEN RETURN 'error ' || theirs; END IF;
  IF p_unknown IS NOT NULL AND pg_temp.dbkit_refusal(p_role, p_claims, p_unknown) <> theirs THEN RETURN 'partial'; END IF;
  RETURN 'deny';
END
$dbkit$;`;

const lit = (s: string | null) => (s === null ? 'NULL' : quoteLiteral(s));

function outcomeSql(statement: ProbeStatement, acting: { role: string; claims: string }): string {
  const who = `${lit(acting.role)}, ${lit(acting.claims)}`;
  switch (statement.kind) {
    case 'count':
    case 'rows':
      return `pg_temp.dbkit_probe(${who}, '${statement.kind}', ${lit(statement.sql)}, ${statement.targeted})`;
    case 'call':
      return `'not exported'`; // a function call is judged by what it returned and changed (exportable() leaves it out)
    case 'move':
      return `pg_temp.dbkit_probe(${who}, 'move', ${lit(statement.sql)}, 1, ${lit(statement.cursor)})`;
    case 'references': {
      const each = statement.attempts.map((a) => `pg_temp.dbkit_reference(${who}, ${lit(a.theirs)}, ${lit(a.unknown)})`);
      if (each.length === 0) return `'deny'`;
      return `(SELECT CASE WHEN bool_or(o = 'allow') THEN 'allow' WHEN bool_or(o = 'partial') THEN 'partial' WHEN bool_or(o LIKE 'error%') THEN min(o) ELSE 'deny' END FROM unnest(ARRAY[${each.join(', ')}]) AS o)`;
    }
  }
}

const description = (c: MatrixCell) => printable(`${c.identity} ${c.operation} on ${c.table}: ${c.expected}`);

/** Keeps a sequence ahead of the seeded ids, so that an insert probe's default cannot collide with them on another database. */
function sequenceCatchUp(proof: MatrixProof): string[] {
  const out: string[] = [];
  for (const table of new Set(proof.seed.map((r) => r.table))) {
    for (const col of proof.shapes.get(table)?.columns ?? []) {
      if (!col.sequence) continue;
      out.push(`SELECT setval(x.s, x.v) FROM (SELECT ${quoteLiteral(col.sequence)}::regclass AS s, (SELECT max(${quoteIdent(col.name)}) FROM ${quoteQualified(table)})::bigint AS v) x WHERE x.v > coalesce(pg_sequence_last_value(x.s), 0);`);
    }
  }
  return out;
}

/** Probes that start from rows of their own (an attack's setup) stay in the audit: the suite's tests share one set of rows. */
export const exportable = (p: MatrixProof['probes'][number]) => p.statement.kind !== 'call' && !(p.statement.kind === 'rows' && p.statement.setup?.length);

export function pgtapSuite(proof: MatrixProof, meta: { dbkit: string }): string {
  const probes = proof.probes.filter(exportable);
  const left = proof.probes.length - probes.length;
  const lines = [
    commentLine(`The isolation matrix of dbkit rls-audit as pgTAP: generated by dbkit ${meta.dbkit} (rls-audit --export-pgtap) from the tenancy map ${proof.source}.`),
    commentLine('Each test acts as one identity the way the API does (SET ROLE + request.jwt.claims, undone after the test)'),
    commentLine('and expects what the tenancy map implies: allow, or deny (no row, or refused). The seeded rows are inserted'),
    commentLine('first; dbkit test rolls the whole file back. Sequences of seeded tables are moved past the seeded ids.'),
    commentLine('Regenerate it after changing the schema or the map: npx dbkit rls-audit --export-pgtap <this file>'),
    ...(left > 0 ? [commentLine(`${left} attack probe(s) that need rows of their own (raise-role, storage buckets) or are judged by what a function returned are not exported: rls-audit runs them`)] : []),
    `SELECT plan(${probes.length});`,
    '',
    HELPERS,
    '',
    commentLine(`the rows the audit seeded for tenants A and B (${proof.seed.length})`),
    ...proof.seed.map((r) => `${r.insert};`),
    ...sequenceCatchUp(proof),
    '',
  ];
  for (const { cell, statement } of probes) {
    lines.push(`SELECT is(${outcomeSql(statement, proof.acting[cell.identity])}, ${lit(cell.expected)}, ${lit(description(cell))});`);
  }
  lines.push('', 'SELECT * FROM finish();', '');
  return lines.join('\n');
}
