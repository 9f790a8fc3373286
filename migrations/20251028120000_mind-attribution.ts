/**
 * Mind attribution (seed AC1-AC4): who creates a project and whose voice it uses, when junction
 * rows were made, and a view of contents with their creators that respects RLS.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { change, columnAbsent, ensureLedger, lit, qname, relationAbsent, undoChanges } from './support/provision.ts';
import { CONTENTS_VIEW } from '../policies/creatoros.ts';

const MIGRATION = '20251028120000_mind-attribution';

const MIND_COLUMNS = [
  { column: 'creator_mind_id', constraint: 'content_projects_creator_mind_id_fkey', index: 'idx_content_projects_creator_mind' },
  { column: 'persona_mind_id', constraint: 'content_projects_persona_mind_id_fkey', index: 'idx_content_projects_persona_mind' },
];

// security_invoker: the view runs with the privileges and RLS of whoever queries it. Others'
// published contents are visible, their projects are not, hence the LEFT JOINs.
const VIEW_SQL = `CREATE VIEW ${qname(CONTENTS_VIEW)} WITH (security_invoker = true) AS
  SELECT c.id, c.project_id, c.parent_content_id, c.slug, c.title, c.content_type, c.sequence_order,
         c.status, c.fidelity_score, c.created_at, c.updated_at,
         p.slug AS project_slug, p.name AS project_name,
         p.creator_mind_id, creator.display_name AS creator_name,
         p.persona_mind_id, persona.display_name AS persona_name
    FROM public.contents c
    LEFT JOIN public.content_projects p ON p.id = c.project_id
    LEFT JOIN public.minds creator ON creator.id = p.creator_mind_id
    LEFT JOIN public.minds persona ON persona.id = p.persona_mind_id
   WHERE c.deleted_at IS NULL`;

export const up = (pgm: MigrationBuilder): void => {
  ensureLedger(pgm);
  for (const { column, constraint, index } of MIND_COLUMNS) {
    change(pgm, MIGRATION, {
      kind: 'column',
      name: `public.content_projects.${column}`,
      when: columnAbsent('public.content_projects', column),
      apply: `ALTER TABLE public.content_projects ADD COLUMN ${column} uuid CONSTRAINT ${constraint} REFERENCES public.minds (id) ON DELETE SET NULL`,
      undo: { sql: `ALTER TABLE public.content_projects DROP COLUMN ${column}` },
    });
    change(pgm, MIGRATION, {
      kind: 'index',
      name: `public.${index}`,
      when: relationAbsent(`public.${index}`),
      apply: `CREATE INDEX ${index} ON public.content_projects (${column})`,
      undo: { sql: `DROP INDEX public.${index}` },
    });
  }
  for (const table of ['public.content_minds', 'public.content_tags']) {
    change(pgm, MIGRATION, {
      kind: 'column',
      name: `${table}.created_at`,
      when: columnAbsent(table, 'created_at'),
      apply: `ALTER TABLE ${table} ADD COLUMN created_at timestamptz NOT NULL DEFAULT now()`,
      undo: { sql: `ALTER TABLE ${table} DROP COLUMN created_at` },
    });
  }
  change(pgm, MIGRATION, {
    kind: 'view',
    name: CONTENTS_VIEW,
    when: relationAbsent(CONTENTS_VIEW),
    apply: VIEW_SQL,
    undo: { sql: `DROP VIEW ${qname(CONTENTS_VIEW)}` },
  });
  // A view adopted from an earlier manual rollout must not bypass RLS either.
  change(pgm, MIGRATION, {
    kind: 'view-option',
    name: CONTENTS_VIEW,
    when: `NOT coalesce((SELECT 'security_invoker=true' = ANY (reloptions) FROM pg_class WHERE oid = to_regclass(${lit(CONTENTS_VIEW)})), true)`,
    apply: `ALTER VIEW ${qname(CONTENTS_VIEW)} SET (security_invoker = true)`,
    undo: { sql: `ALTER VIEW ${qname(CONTENTS_VIEW)} RESET (security_invoker)` },
  });
};

export const down = (pgm: MigrationBuilder): void => {
  undoChanges(pgm, MIGRATION);
};
