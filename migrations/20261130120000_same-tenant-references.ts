/**
 * References stay inside a tenant (issue 9.2).
 *
 * Foreign-key checks ignore RLS: as tenant A, a content of A's project could name B's draft as its
 * parent (and an unknown id gave a different error: an existence oracle), after which B could no
 * longer delete its own content; a project or a content could name B's mind as persona or author.
 *
 * - A parent is in the same project: contents gets UNIQUE (project_id, id) and the foreign key
 *   (project_id, parent_content_id) -> contents (project_id, id), replacing the one on
 *   parent_content_id alone (with both, another tenant's id would fail only the new key and an
 *   unknown id the old one, so the two errors would still tell them apart).
 *   Existing rows whose parent is in another project make the up fail, naming them: nothing is
 *   deleted or changed; fix them (or restore), then apply again.
 * - Attribution names only the caller's own mind or a persona mind: the restrictive policies of
 *   policies/creatoros-attribution.ts, with private.persona_mind_ids(). They check new and changed
 *   rows; rows written before are left as they are.
 *
 * Every change is recorded with its exact undo (provision ledger); the down puts back the
 * single-column foreign key exactly as it was defined (name, actions, deferrability).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { change, ensureLedger, functionAbsent, lit, policyAbsent, undoChanges } from './support/provision.ts';
import { policies } from '../policies/creatoros-attribution.ts';
import { createPolicySql, dropPolicySql } from 'dbkit/migrate';

const MIGRATION = '20261130120000_same-tenant-references';

export const PARENT_KEY = 'contents_project_id_id_key';
export const PARENT_FK = 'contents_parent_same_project_fkey';

const hasConstraint = (name: string) => `EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'public.contents'::regclass AND conname = ${lit(name)})`;

/** Foreign keys of contents on parent_content_id alone, referencing contents (id). */
const SINGLE_PARENT_FKS = `SELECT k.oid, k.conname FROM pg_constraint k
   WHERE k.conrelid = 'public.contents'::regclass AND k.contype = 'f' AND k.confrelid = 'public.contents'::regclass
     AND k.conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = 'public.contents'::regclass AND attname = 'parent_content_id')]::int2[]
     AND k.confkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = 'public.contents'::regclass AND attname = 'id')]::int2[]`;

// Refuses, naming them, rows the new key would reject: a parent in another project.
const CHECK_PARENTS = `DO $check$
DECLARE n bigint; sample text;
BEGIN
  SELECT count(*), string_agg(format('%s (project %s; its parent %s is in project %s)', v.id, v.project_id, v.parent_content_id, v.parent_project), ', ' ORDER BY v.id) FILTER (WHERE v.r <= 10)
    INTO n, sample
    FROM (SELECT c.id, c.project_id, c.parent_content_id, p.project_id AS parent_project, row_number() OVER (ORDER BY c.id) AS r
            FROM public.contents c JOIN public.contents p ON p.id = c.parent_content_id
           WHERE p.project_id <> c.project_id) v;
  IF n > 0 THEN
    RAISE EXCEPTION 'dbkit: % contents row(s) have a parent in another project, which the new key forbids: %', n, sample
      USING HINT = 'move each into its parent''s project, or set its parent_content_id to NULL; nothing was changed. Then apply again';
  END IF;
END
$check$`;

const PERSONA_MIND_IDS = `CREATE FUNCTION private.persona_mind_ids() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
  AS $fn$ SELECT m.id FROM public.minds m WHERE m.user_id IS NULL $fn$;
  REVOKE ALL ON FUNCTION private.persona_mind_ids() FROM PUBLIC;
  GRANT EXECUTE ON FUNCTION private.persona_mind_ids() TO authenticated, service_role`;

export const up = (pgm: MigrationBuilder): void => {
  ensureLedger(pgm);
  change(pgm, MIGRATION, {
    kind: 'constraint',
    name: `public.contents.${PARENT_KEY}`,
    when: `NOT ${hasConstraint(PARENT_KEY)}`,
    apply: `ALTER TABLE public.contents ADD CONSTRAINT ${PARENT_KEY} UNIQUE (project_id, id)`,
    undo: { sql: `ALTER TABLE public.contents DROP CONSTRAINT ${PARENT_KEY}` },
  });
  change(pgm, MIGRATION, {
    kind: 'constraint',
    name: `public.contents.${PARENT_FK}`,
    when: `NOT ${hasConstraint(PARENT_FK)}`,
    apply: `${CHECK_PARENTS};
      ALTER TABLE public.contents ADD CONSTRAINT ${PARENT_FK} FOREIGN KEY (project_id, parent_content_id) REFERENCES public.contents (project_id, id)`,
    undo: { sql: `ALTER TABLE public.contents DROP CONSTRAINT ${PARENT_FK}` },
  });
  change(pgm, MIGRATION, {
    kind: 'constraint',
    name: 'public.contents.(parent_content_id) -> contents (id)',
    when: `EXISTS (${SINGLE_PARENT_FKS})`,
    apply: `DO $drop$
DECLARE fk record;
BEGIN
  FOR fk IN ${SINGLE_PARENT_FKS} LOOP
    EXECUTE format('ALTER TABLE public.contents DROP CONSTRAINT %I', fk.conname);
  END LOOP;
END
$drop$`,
    undo: { expression: `(SELECT string_agg(format('ALTER TABLE public.contents ADD CONSTRAINT %I %s', s.conname, pg_get_constraintdef(s.oid)), '; ' ORDER BY s.conname) FROM (${SINGLE_PARENT_FKS}) s)` },
  });

  change(pgm, MIGRATION, {
    kind: 'function',
    name: 'private.persona_mind_ids()',
    when: functionAbsent('private.persona_mind_ids()'),
    apply: PERSONA_MIND_IDS,
    undo: { sql: 'DROP FUNCTION private.persona_mind_ids()' },
  });
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
