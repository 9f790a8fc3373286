/**
 * The database edge of course handling: a course's rows read in one statement, a sync plan
 * written (inside the caller's transaction), and the checks sync makes before any work.
 */
import type pg from 'pg';
import { DbkitError } from '../errors.js';
import * as sql from '../core/course-sql.js';
import { levelOf, type CourseModel, type CourseNode } from './model.js';
import type { Attribution, DbCourseState, SyncPlan } from './diff.js';

const STATE_SQL = `
SELECT json_build_object(
  'project', (SELECT json_build_object('name', p.name, 'description', p.description, 'metadata', p.project_metadata,
                                       'creatorMind', cm.slug, 'personaMind', pm.slug, 'deleted', p.deleted_at IS NOT NULL)
                FROM public.content_projects p
                LEFT JOIN public.minds cm ON cm.id = p.creator_mind_id
                LEFT JOIN public.minds pm ON pm.id = p.persona_mind_id
               WHERE p.slug = $1),
  'nodes', (SELECT coalesce(json_agg(json_build_object(
                'slug', c.slug, 'type', c.content_type, 'parent', parent.slug, 'order', c.sequence_order, 'title', c.title,
                'contentSha256', CASE WHEN c.content IS NULL THEN NULL ELSE encode(sha256(convert_to(c.content, 'UTF8')), 'hex') END,
                'metadata', c.metadata, 'fidelityScore', c.fidelity_score, 'deleted', c.deleted_at IS NOT NULL)), '[]'::json)
              FROM public.contents c
              JOIN public.content_projects p ON p.id = c.project_id
              LEFT JOIN public.contents parent ON parent.id = c.parent_content_id
             WHERE p.slug = $1),
  'profiles', (SELECT coalesce(json_agg(json_build_object('name', a.name, 'profile', a.profile) ORDER BY a.created_at), '[]'::json)
                 FROM public.audience_profiles a JOIN public.content_projects p ON p.id = a.project_id WHERE p.slug = $1),
  'links', (SELECT coalesce(json_agg(json_build_object('slug', c.slug, 'mind', m.slug, 'role', l.role)), '[]'::json)
              FROM public.content_minds l
              JOIN public.contents c ON c.id = l.content_id
              JOIN public.content_projects p ON p.id = c.project_id
              JOIN public.minds m ON m.id = l.mind_id
             WHERE p.slug = $1)
) AS state`;

export async function readCourseState(client: pg.ClientBase, projectSlug: string): Promise<DbCourseState> {
  const { rows } = await client.query<{ state: DbCourseState }>({ name: 'dbkit_course_state', text: STATE_SQL, values: [projectSlug] });
  return rows[0]!.state;
}

export const COURSE_TABLES = ['public.minds', 'public.content_projects', 'public.contents', 'public.audience_profiles', 'public.content_minds'] as const;

/** Sync, verify, tree and monitor need the CreatorOS tables: say so before any work. */
export async function assertCourseSchema(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ name: string }>(`SELECT t AS name FROM unnest($1::text[]) t WHERE to_regclass(t) IS NULL`, [[...COURSE_TABLES]]);
  if (rows.length > 0) {
    throw new DbkitError('PREFLIGHT_FAILED', `the CreatorOS tables are missing (${rows.map((r) => r.name).join(', ')}): nothing was read or written`, { hint: 'run dbkit apply first' });
  }
}

/** --creator/--persona must name existing minds: checked before any course is written. */
export async function assertMindsExist(client: pg.ClientBase, attribution: Attribution): Promise<void> {
  const wanted = [attribution.creator, attribution.persona].filter((s): s is string => s !== null);
  if (wanted.length === 0) return;
  const { rows } = await client.query<{ slug: string }>(`SELECT s AS slug FROM unnest($1::text[]) s WHERE NOT EXISTS (SELECT 1 FROM public.minds m WHERE m.slug = s)`, [wanted]);
  if (rows.length > 0) {
    const names = rows.map((r) => `'${r.slug}'`).join(' and ');
    throw new DbkitError('NOT_FOUND', `${rows.length === 1 ? `mind ${names} does not exist` : `minds ${names} do not exist`}: nothing was written`, {
      hint: `add ${rows.length === 1 ? 'it' : 'them'} with ${rows.map((r) => `dbkit minds add ${r.slug}`).join(' and ')} (dbkit minds list shows the minds)`,
    });
  }
}

function record(node: CourseNode): sql.NodeRecord {
  return sql.nodeRecord({ slug: node.slug, parent: node.parent, title: node.title, contentType: node.type, content: node.content, sequenceOrder: node.order, metadata: node.metadata, fidelityScore: node.fidelityScore });
}

/** Writes what the plan says, parents before children; returns the number of rows written. Run inside a transaction holding lockProject. */
export async function applySyncPlan(client: pg.ClientBase, model: CourseModel, plan: SyncPlan, attribution: Attribution): Promise<number> {
  let rows = 0;
  if (plan.project !== 'unchanged') {
    const { rows: result } = await client.query<{ id: string | null }>(
      sql.upsertProject({ slug: model.slug, name: model.name, description: model.description, projectType: 'course', metadata: model.metadata, creatorMind: attribution.creator, personaMind: attribution.persona }),
    );
    if (!result[0]?.id) throw new DbkitError('NOT_FOUND', `project ${model.slug}: a creator or persona mind does not exist`);
    rows += 1;
  }
  const nodes = [...plan.create, ...plan.update.map((u) => u.node)];
  for (const level of [0, 1, 2]) {
    const batch = nodes.filter((n) => levelOf(n) === level).map(record);
    if (batch.length === 0) continue;
    const { rowCount } = await client.query(sql.upsertNodes(model.slug, batch));
    if (rowCount !== batch.length) throw new DbkitError('INTERNAL', `project ${model.slug}: wrote ${rowCount} of ${batch.length} level-${level} rows (a parent is missing)`);
    rows += batch.length;
  }
  if (model.profile && (plan.profile === 'create' || plan.profile === 'update')) {
    await client.query(sql.upsertAudienceProfile(model.slug, model.profile.name, model.profile.profile));
    rows += 1;
  }
  for (const link of plan.links) {
    await client.query(sql.linkMind(model.slug, link.slug, link.mind, link.role));
    rows += 1;
  }
  return rows;
}
