/**
 * Point reads through RLS at close to the cost of an unprotected read (issue 12).
 *
 * The nine tenant and attribution policies are recreated under the same names, commands and roles
 * from policies/creatoros-caller-views.ts, which explains the choice with its measurements. They
 * read the caller's mind, projects and contents, and the persona minds, through four views in
 * `private` (owner's rights, security_barrier, SELECT for authenticated only) instead of calling
 * private.current_mind_id() and private.persona_mind_ids(), which stay (applications may call them).
 * A partial index of the published contents by project lets a read of one project check the
 * policy in its index conditions instead of on every row.
 *
 * On plain PostgreSQL, where 20251028110000_supabase-compat created auth.uid() with SET
 * search_path, the setting is reset: a function with SET is never inlined, so every statement paid
 * for planning its one-line body again. Supabase's own auth.uid() has no SET (the body names only
 * pg_catalog functions and types, which come first in every search_path unless a session puts them
 * later itself); it is left alone there, as is an auth.uid() changed since or owned by a role the
 * applying one is not (then only this saving is lost).
 *
 * Refuses before changing anything when the role applying it is neither superuser nor BYPASSRLS
 * (the views, which it owns, would see no row of the forced-RLS tables: every tenant locked out),
 * or when a relation already holds one of the views' names.
 *
 * Every change is recorded with its exact undo (provision ledger): the down restores each policy
 * as the catalog had it (re-read at up time, replayed under the same search_path), auth.uid() as
 * it was, and drops the views.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import {
  LEDGER,
  change,
  ensureLedger,
  functionRestoreExpression,
  lit,
  policyRestoreExpression,
  qname,
  relationAbsent,
  revokeAllButOwnerSql,
  undoChanges,
} from './support/provision.ts';
import { CALLER_VIEWS, PUBLISHED_BY_PROJECT, policies } from '../policies/creatoros-caller-views.ts';
import { createPolicySql, dropPolicySql } from 'dbkit/migrate';

const MIGRATION = '20261130140000_rls-caller-views';
const COMPAT_MIGRATION = '20251028110000_supabase-compat';

const PREFLIGHT = `DO $check$
DECLARE taken text;
BEGIN
  IF NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN
    RAISE EXCEPTION 'dbkit: role % is neither superuser nor BYPASSRLS: the views this migration creates run with its rights and would see no row of the forced-RLS tables', current_user
      USING HINT = 'apply as the role that owns the CreatorOS tables with BYPASSRLS (ALTER ROLE ... BYPASSRLS; on Supabase: postgres); nothing was changed';
  END IF;
  SELECT string_agg(n, ', ') INTO taken FROM unnest(${lit(`{${CALLER_VIEWS.map((v) => v.name).join(',')}}`)}::text[]) n WHERE to_regclass(n) IS NOT NULL;
  IF taken IS NOT NULL THEN
    RAISE EXCEPTION 'dbkit: % already exist(s) and was not created by this migration', taken
      USING HINT = 'rename or drop it (the policies would read through it), then apply again; nothing was changed';
  END IF;
END
$check$;`;

/** dbkit's compatibility auth.uid(), unchanged since it was created with SET search_path = '', and the applying role may alter it. */
const COMPAT_UID_UNCHANGED = `EXISTS (SELECT 1 FROM ${LEDGER} WHERE migration = ${lit(COMPAT_MIGRATION)} AND kind = 'function' AND name = 'auth.uid()')
    AND coalesce((SELECT proconfig = ARRAY['search_path=""'] AND pg_has_role(current_user, proowner, 'USAGE') FROM pg_proc WHERE oid = to_regprocedure('auth.uid()')), false)`;

export const up = (pgm: MigrationBuilder): void => {
  ensureLedger(pgm);
  pgm.sql(PREFLIGHT);
  for (const view of CALLER_VIEWS) {
    change(pgm, MIGRATION, {
      kind: 'view',
      name: view.name,
      when: 'true',
      apply: `CREATE VIEW ${qname(view.name)} WITH (security_barrier) AS ${view.select}; ${revokeAllButOwnerSql(view.name)}; GRANT SELECT ON TABLE ${qname(view.name)} TO authenticated`,
      undo: { sql: `DROP VIEW ${qname(view.name)}` },
    });
  }
  // Built in the migration's transaction (CREATE INDEX CONCURRENTLY cannot be): it holds a SHARE
  // lock on contents, which blocks writes (not reads) while the table is scanned once, about a
  // second per million rows; the index itself holds the published rows only.
  change(pgm, MIGRATION, {
    kind: 'index',
    name: `public.${PUBLISHED_BY_PROJECT.name}`,
    when: relationAbsent(`public.${PUBLISHED_BY_PROJECT.name}`),
    apply: `CREATE INDEX ${PUBLISHED_BY_PROJECT.name} ON ${PUBLISHED_BY_PROJECT.on}`,
    undo: { sql: `DROP INDEX public.${PUBLISHED_BY_PROJECT.name}` },
  });
  change(pgm, MIGRATION, {
    kind: 'function-config',
    name: 'auth.uid()',
    when: COMPAT_UID_UNCHANGED,
    apply: 'ALTER FUNCTION auth.uid() RESET search_path',
    undo: { expression: functionRestoreExpression('auth.uid()') },
  });
  for (const policy of policies) {
    change(pgm, MIGRATION, {
      kind: 'policy',
      name: `${policy.table}.${policy.name}`,
      when: 'true',
      apply: `${dropPolicySql(policy)}; ${createPolicySql(policy)}`,
      undo: { expression: policyRestoreExpression(policy.table, policy.name) },
    });
  }
};

export const down = (pgm: MigrationBuilder): void => {
  undoChanges(pgm, MIGRATION);
};
