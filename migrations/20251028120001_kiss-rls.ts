/**
 * KISS row-level security (seed AC5-AC9), with least-privilege grants.
 *
 * The policies come from policies/creatoros.ts. Every grant and RLS flag changed here is first
 * captured, so the down puts back exactly what was there (on Supabase: the default grants).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import {
  change,
  ensureLedger,
  functionAbsent,
  grantsRestoreExpression,
  policyAbsent,
  qname,
  relationAbsent,
  rlsRestoreExpression,
  schemaAbsent,
  schemaGrantsRestoreExpression,
  undoChanges,
} from './support/provision.ts';
import { CONTENTS_VIEW, MINDS_PUBLIC_COLUMNS, RLS_TABLES, TENANT_TABLES, policies } from '../policies/creatoros.ts';
import { createPolicySql, dropPolicySql } from 'dbkit/migrate';

const MIGRATION = '20251028120001_kiss-rls';

// SECURITY DEFINER so that it can read minds.user_id, which authenticated users cannot; it takes
// no argument and returns only the caller's own mind, and lives in a schema the API does not
// expose, with search_path pinned so that no caller-controlled schema can shadow what it calls.
const CURRENT_MIND_ID = `CREATE FUNCTION private.current_mind_id() RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $fn$ SELECT m.id FROM public.minds m WHERE m.user_id = auth.uid() $fn$;
  REVOKE ALL ON FUNCTION private.current_mind_id() FROM PUBLIC;
  GRANT EXECUTE ON FUNCTION private.current_mind_id() TO authenticated, service_role`;

/** Indexes for columns the policies filter on that the earlier migrations did not index. */
const POLICY_INDEXES = [
  { name: 'idx_contents_status', on: 'public.contents (status)' },
  { name: 'idx_audience_profiles_project', on: 'public.audience_profiles (project_id)' },
];

export const up = (pgm: MigrationBuilder): void => {
  ensureLedger(pgm);
  change(pgm, MIGRATION, {
    kind: 'schema',
    name: 'private',
    when: schemaAbsent('private'),
    apply: 'CREATE SCHEMA private; REVOKE ALL ON SCHEMA private FROM PUBLIC',
    undo: { sql: 'DROP SCHEMA private' },
  });
  change(pgm, MIGRATION, {
    kind: 'schema-grants',
    name: 'private',
    when: 'true',
    apply: 'GRANT USAGE ON SCHEMA private TO authenticated, service_role',
    undo: { expression: schemaGrantsRestoreExpression('private') },
  });
  change(pgm, MIGRATION, {
    kind: 'function',
    name: 'private.current_mind_id()',
    when: functionAbsent('private.current_mind_id()'),
    apply: CURRENT_MIND_ID,
    undo: { sql: 'DROP FUNCTION private.current_mind_id()' },
  });
  for (const index of POLICY_INDEXES) {
    change(pgm, MIGRATION, {
      kind: 'index',
      name: `public.${index.name}`,
      when: relationAbsent(`public.${index.name}`),
      apply: `CREATE INDEX ${index.name} ON ${index.on}`,
      undo: { sql: `DROP INDEX public.${index.name}` },
    });
  }

  for (const table of RLS_TABLES) {
    change(pgm, MIGRATION, {
      kind: 'rls',
      name: table,
      when: 'true',
      apply: `ALTER TABLE ${qname(table)} ENABLE ROW LEVEL SECURITY; ALTER TABLE ${qname(table)} FORCE ROW LEVEL SECURITY`,
      undo: { expression: rlsRestoreExpression(table) },
    });
  }

  // Least privilege: anon gets nothing; authenticated gets DML on tenant tables (RLS decides
  // which rows), read on the public columns of minds and on the view; service_role everything.
  const grants: [relation: string, sql: string][] = [
    ...TENANT_TABLES.map((t): [string, string] => [
      t,
      `REVOKE ALL ON TABLE ${qname(t)} FROM PUBLIC, anon, authenticated; GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ${qname(t)} TO authenticated; GRANT ALL ON TABLE ${qname(t)} TO service_role`,
    ]),
    [
      'public.minds',
      `REVOKE ALL ON TABLE public.minds FROM PUBLIC, anon, authenticated; GRANT SELECT (${MINDS_PUBLIC_COLUMNS.join(', ')}) ON TABLE public.minds TO authenticated; GRANT ALL ON TABLE public.minds TO service_role`,
    ],
    [
      CONTENTS_VIEW,
      `REVOKE ALL ON TABLE ${qname(CONTENTS_VIEW)} FROM PUBLIC, anon, authenticated; GRANT SELECT ON TABLE ${qname(CONTENTS_VIEW)} TO authenticated; GRANT ALL ON TABLE ${qname(CONTENTS_VIEW)} TO service_role`,
    ],
  ];
  for (const [relation, sql] of grants) {
    change(pgm, MIGRATION, { kind: 'grants', name: relation, when: 'true', apply: sql, undo: { expression: grantsRestoreExpression(relation) } });
  }

  for (const policy of policies) {
    change(pgm, MIGRATION, {
      kind: 'policy',
      name: `${policy.table}.${policy.name}`,
      when: policyAbsent(policy.table, policy.name),
      apply: createPolicySql(policy),
      undo: { sql: dropPolicySql(policy) },
    });
  }
};

export const down = (pgm: MigrationBuilder): void => {
  undoChanges(pgm, MIGRATION);
};
