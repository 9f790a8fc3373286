/**
 * The persister's statements, as data: SQL text plus the parameters built from typed input. Every
 * write is an idempotent upsert on a natural key (project slug; project + content slug), and every
 * reference is by natural key too, resolved inside the statement, so that a caller never carries
 * database ids around and a re-run never duplicates a row. Shared by CoursePersister and dbkit sync.
 */

export type JsonObject = { [key: string]: unknown };

export const PROJECT_STATUSES = ['draft', 'published', 'archived'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export const MIND_ROLES = ['creator', 'author', 'persona'] as const;
export type MindRole = (typeof MIND_ROLES)[number];

/** The content types CreatorOS writes; the column accepts others (the schema has no CHECK). */
export const CONTENT_TYPES = ['course_outline', 'course_module', 'course_lesson', 'course_research'] as const;
export type ContentType = (typeof CONTENT_TYPES)[number] | (string & {});

export interface Statement {
  /** Prepared once per connection under this name (the planning of these CTEs costs more than running them). */
  name?: string;
  text: string;
  values: unknown[];
}

export interface ProjectInput {
  slug: string;
  name: string;
  description?: string | null;
  projectType?: string;
  status?: ProjectStatus;
  /** Merged into the stored project_metadata (top-level keys), never replacing it. */
  metadata?: JsonObject;
  /** Mind slugs; left unchanged when not given. */
  creatorMind?: string | null;
  personaMind?: string | null;
}

export interface ContentInput {
  slug: string;
  title: string;
  contentType: ContentType;
  /** Slug of the parent content in the same project (null: a root such as the course outline). */
  parent?: string | null;
  content?: string | null;
  sequenceOrder?: number | null;
  /** Merged into the stored metadata (top-level keys). */
  metadata?: JsonObject;
  /** Kept as stored when not given. */
  fidelityScore?: number | null;
  /** Kept as stored when not given ('draft' for a new row). */
  status?: string;
}

export type LessonInput = Omit<ContentInput, 'contentType' | 'parent'> & { contentType?: ContentType };

/** The row shape jsonb_to_recordset reads (snake_case, every key present). */
export interface NodeRecord {
  slug: string;
  parent_slug: string | null;
  title: string;
  content_type: string;
  content: string | null;
  sequence_order: number | null;
  metadata: JsonObject;
  fidelity_score: number | null;
  status: string | null;
}

export function nodeRecord(input: ContentInput): NodeRecord {
  return {
    slug: input.slug,
    parent_slug: input.parent ?? null,
    title: input.title,
    content_type: input.contentType,
    content: input.content ?? null,
    sequence_order: input.sequenceOrder ?? null,
    metadata: input.metadata ?? {},
    fidelity_score: input.fidelityScore ?? null,
    status: input.status ?? null,
  };
}

const UPSERT_PROJECT = `
WITH refs AS (
  SELECT (SELECT id FROM public.minds WHERE slug = $7) AS creator_id,
         (SELECT id FROM public.minds WHERE slug = $8) AS persona_id
), upserted AS (
  INSERT INTO public.content_projects AS p (slug, name, project_type, description, project_metadata, status, creator_mind_id, persona_mind_id)
  SELECT $1, $2, coalesce($3, 'course'), $4, $5::jsonb, coalesce($6, 'draft'), refs.creator_id, refs.persona_id
    FROM refs
   WHERE ($7::text IS NULL OR refs.creator_id IS NOT NULL) AND ($8::text IS NULL OR refs.persona_id IS NOT NULL)
  ON CONFLICT (slug) DO UPDATE SET
    name = EXCLUDED.name,
    project_type = CASE WHEN $3::text IS NULL THEN p.project_type ELSE EXCLUDED.project_type END,
    description = coalesce(EXCLUDED.description, p.description),
    project_metadata = p.project_metadata || EXCLUDED.project_metadata,
    status = CASE WHEN $6::text IS NULL THEN p.status ELSE EXCLUDED.status END,
    creator_mind_id = coalesce(EXCLUDED.creator_mind_id, p.creator_mind_id),
    persona_mind_id = coalesce(EXCLUDED.persona_mind_id, p.persona_mind_id),
    updated_at = now(),
    deleted_at = NULL
  RETURNING p.id, (p.xmax = 0) AS inserted
)
SELECT (SELECT id FROM upserted) AS id, (SELECT inserted FROM upserted) AS inserted,
       ($7::text IS NULL OR creator_id IS NOT NULL) AS creator_found,
       ($8::text IS NULL OR persona_id IS NOT NULL) AS persona_found
  FROM refs`;

export function upsertProject(input: ProjectInput): Statement {
  return {
    name: 'dbkit_upsert_project',
    text: UPSERT_PROJECT,
    values: [input.slug, input.name, input.projectType ?? null, input.description ?? null, JSON.stringify(input.metadata ?? {}), input.status ?? null, input.creatorMind ?? null, input.personaMind ?? null],
  };
}

// One statement for any number of contents of one project: parents are resolved by slug among the
// rows already stored, so a batch holds one level of the tree. A single statement is atomic: one
// bad row (a NULL title, an integer out of range) and no row of the batch is written. A row whose
// parent is not found makes the whole batch write nothing (checked by `complete`).
const UPSERT_NODES = `
WITH input AS (
  SELECT x.* FROM jsonb_to_recordset($2::jsonb) AS x(slug text, parent_slug text, title text, content_type text, content text,
                                                      sequence_order int, metadata jsonb, fidelity_score numeric, status text)
), resolved AS (
  SELECT i.*, p.id AS project_id, parent.id AS parent_id, existing.status AS old_status, existing.fidelity_score AS old_fidelity
    FROM input i
    JOIN public.content_projects p ON p.slug = $1
    LEFT JOIN public.contents parent ON parent.project_id = p.id AND parent.slug = i.parent_slug
    LEFT JOIN public.contents existing ON existing.project_id = p.id AND existing.slug = i.slug
), complete AS (
  SELECT (SELECT count(*) FROM resolved WHERE parent_slug IS NULL OR parent_id IS NOT NULL) = (SELECT count(*) FROM input) AS ok
)
INSERT INTO public.contents AS c (project_id, parent_content_id, slug, title, content_type, content, sequence_order, metadata, fidelity_score, status)
SELECT r.project_id, r.parent_id, r.slug, r.title, r.content_type, r.content, r.sequence_order, coalesce(r.metadata, '{}'::jsonb),
       coalesce(r.fidelity_score, r.old_fidelity), coalesce(r.status, r.old_status, 'draft')
  FROM resolved r, complete
 WHERE complete.ok
ON CONFLICT (project_id, slug) DO UPDATE SET
  parent_content_id = EXCLUDED.parent_content_id,
  title = EXCLUDED.title,
  content_type = EXCLUDED.content_type,
  content = EXCLUDED.content,
  sequence_order = EXCLUDED.sequence_order,
  metadata = c.metadata || EXCLUDED.metadata,
  fidelity_score = EXCLUDED.fidelity_score,
  status = EXCLUDED.status,
  updated_at = now(),
  deleted_at = NULL
RETURNING c.id, c.slug, (c.xmax = 0) AS inserted`;

export function upsertNodes(projectSlug: string, nodes: readonly NodeRecord[]): Statement {
  return { name: 'dbkit_upsert_nodes', text: UPSERT_NODES, values: [projectSlug, JSON.stringify(nodes)] };
}

/** Why a write that returned no row wrote nothing: which of its references does not exist. */
export function missingReferences(projectSlug: string, contentSlugs: readonly string[], mindSlugs: readonly string[] = []): Statement {
  return {
    name: 'dbkit_missing_refs',
    text: `SELECT 'project' AS kind, $1::text AS slug WHERE NOT EXISTS (SELECT 1 FROM public.content_projects WHERE slug = $1)
           UNION ALL
           SELECT 'content', s FROM unnest($2::text[]) s
            WHERE EXISTS (SELECT 1 FROM public.content_projects WHERE slug = $1)
              AND NOT EXISTS (SELECT 1 FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id WHERE p.slug = $1 AND c.slug = s)
           UNION ALL
           SELECT 'mind', s FROM unnest($3::text[]) s WHERE NOT EXISTS (SELECT 1 FROM public.minds WHERE slug = s)`,
    values: [projectSlug, [...contentSlugs], [...mindSlugs]],
  };
}

export function mergeContentMetadata(projectSlug: string, contentSlug: string, patch: JsonObject): Statement {
  return {
    name: 'dbkit_merge_metadata',
    text: `UPDATE public.contents c SET metadata = c.metadata || $3::jsonb, updated_at = now()
             FROM public.content_projects p
            WHERE p.id = c.project_id AND p.slug = $1 AND c.slug = $2
        RETURNING c.id`,
    values: [projectSlug, contentSlug, JSON.stringify(patch)],
  };
}

export function setFidelityScore(projectSlug: string, contentSlug: string, score: number | null): Statement {
  return {
    name: 'dbkit_set_fidelity',
    text: `UPDATE public.contents c SET fidelity_score = $3::numeric, updated_at = now()
             FROM public.content_projects p
            WHERE p.id = c.project_id AND p.slug = $1 AND c.slug = $2
        RETURNING c.id`,
    values: [projectSlug, contentSlug, score === null ? null : String(score)],
  };
}

export function linkMind(projectSlug: string, contentSlug: string, mindSlug: string, role: MindRole): Statement {
  return {
    name: 'dbkit_link_mind',
    text: `WITH refs AS (
             SELECT c.id AS content_id, m.id AS mind_id
               FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id, public.minds m
              WHERE p.slug = $1 AND c.slug = $2 AND m.slug = $3
           ), inserted AS (
             INSERT INTO public.content_minds (content_id, mind_id, role) SELECT content_id, mind_id, $4 FROM refs
             ON CONFLICT DO NOTHING RETURNING 1
           )
           SELECT (SELECT count(*) FROM refs)::int AS found, (SELECT count(*) FROM inserted)::int AS inserted`,
    values: [projectSlug, contentSlug, mindSlug, role],
  };
}

/** Serialises writers of one project's audience profile (the table has no natural unique key). */
export function lockProject(projectSlug: string): Statement {
  return { name: 'dbkit_lock_project', text: `SELECT pg_advisory_xact_lock(hashtext('dbkit:project'), hashtext($1))`, values: [projectSlug] };
}

/** Run inside a transaction after lockProject: updates the profile of that name, or adds it. */
export function upsertAudienceProfile(projectSlug: string, name: string, profile: JsonObject): Statement {
  return {
    name: 'dbkit_upsert_profile',
    text: `WITH p AS (SELECT id FROM public.content_projects WHERE slug = $1),
           updated AS (
             UPDATE public.audience_profiles a SET profile = $3::jsonb FROM p
              WHERE a.project_id = p.id AND a.name = $2 RETURNING a.id
           ), inserted AS (
             INSERT INTO public.audience_profiles (project_id, name, profile)
             SELECT p.id, $2, $3::jsonb FROM p WHERE NOT EXISTS (SELECT 1 FROM updated) RETURNING id
           )
           SELECT id, false AS inserted FROM updated UNION ALL SELECT id, true FROM inserted`,
    values: [projectSlug, name, JSON.stringify(profile)],
  };
}

/** Checks a batch the database would reject with a cryptic message. */
export function batchProblem(records: readonly NodeRecord[]): string | null {
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.slug)) return `slug '${r.slug}' appears twice in one batch`;
    seen.add(r.slug);
    if (r.parent_slug === r.slug) return `content '${r.slug}' cannot be its own parent`;
    if (r.sequence_order !== null && !Number.isInteger(r.sequence_order)) return `sequence order ${r.sequence_order} of '${r.slug}' is not a whole number`;
    if (r.fidelity_score !== null && !Number.isFinite(r.fidelity_score)) return `fidelity score of '${r.slug}' is not a finite number`;
  }
  return null;
}
