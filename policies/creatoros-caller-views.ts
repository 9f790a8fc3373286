/**
 * CreatorOS tenant policies as they are after migration 20261130140000_rls-caller-views (issue
 * 12): the same names, commands, roles and rows as before, at a fraction of the cost per
 * statement. They supersede the declarations of policies/creatoros.ts (all but the minds
 * directory) and policies/creatoros-attribution.ts, which stay as they are because the applied
 * migrations that created those policies build their SQL from them; rls-audit's drift check
 * compares the database with these (see `supersedes`).
 *
 * Why it was slow. Every policy asked `(SELECT private.current_mind_id())`, a SQL-language
 * SECURITY DEFINER function with SET search_path: such a function is never inlined, and PostgreSQL
 * (15 to 17) plans its query again on every call. The contents policy called it, and so did the
 * content_projects policy that its sub-select ran through (nested RLS): two plans per statement,
 * about 0.1-0.15 ms each on the development machine, ten times the cost of reading one row.
 *
 * What replaced it. The policies call no function at all. They read the caller's rows through four
 * views in the schema `private` (not exposed by the API, SELECT granted to authenticated only),
 * owned by the role that applied the migration (superuser or BYPASSRLS, which the migration
 * checks): a view runs with its owner's rights, so the tables below it are read without their RLS
 * (RLS never nests) and without granting minds.user_id. A view is inlined into the statement and
 * planned with it; the `(SELECT ...)`/`ARRAY(SELECT ...)` around it makes it an initPlan, run
 * once per statement. `security_barrier` keeps a caller's own conditions from being evaluated
 * before the view's `user_id = auth.uid()`. On plain PostgreSQL the migration also lets dbkit's
 * compatibility auth.uid() be inlined, as Supabase's own is (see the migration).
 *
 * Measured before choosing (the candidates of issue 12; scratch copies of one database, 300
 * tenants x 1,000 contents, 1% published; medians of 54 interleaved EXPLAIN ANALYZE runs, server
 * execution time, TIMING OFF; each ratio against service_role reading the same rows; machine
 * loaded by other work, so +-20%):
 *
 *   candidate                                          one row   page of 20   1,000 rows   all visible
 *                                                      PG15 PG17  PG15 PG17   PG15 PG17    PG15 PG17
 *   before: SQL SECURITY DEFINER helper, nested RLS   17.5 16.2   8.7  8.7    1.41 1.52    1.12 1.03
 *   the same helper in PL/pgSQL (plans cached)         13.0 12.0   6.8  6.4    1.40 1.42    0.93 1.08
 *   one PL/pgSQL helper returning the caller's
 *     project ids (no nesting)                        11.2  9.2   6.0  4.6    1.44 1.37    0.98 1.07
 *   mind id from a JWT claim (custom access token
 *     hook), no lookup                                 4.2  4.3   2.4  2.4    1.31 1.35    0.94 0.94
 *   owner-rights views, auth.uid() with SET           5.6  4.6   3.7  2.9    1.27 1.40    1.11 1.07
 *   owner-rights views, inlinable auth.uid()   <--     3.3  3.3   2.2  2.3    1.32 1.36    0.99 0.99
 *
 * The views win: no function call, no per-call plan, no nesting, and no trust in a claim that
 * would stay valid for the life of a token after its mind changed hands (the claim was also
 * slower: content_projects' RLS still nested). With them, the migration adds a partial index of
 * the published contents by project (PUBLISHED_BY_PROJECT): a read of one project then checks the
 * whole policy in its index conditions (a BitmapOr of "the caller's projects" and "published in
 * this project"), where before it tested `project_id = ANY (...) OR published` on every row, and
 * the planner could pick a BitmapOr that fetched every published row of the table.
 *
 * What remains (`npm run bench:rls`, 1,000,000 rows, 1,000 tenants; README "Benchmarks"):
 * - the floor the issue names: finding the caller at all, auth.uid() and one index probe each into
 *   minds and content_projects, about 0.04 ms per statement: a one-row read stays at 3.1-3.4x in
 *   server time (it was 16-18x), 1.4-2.2x through a prepared statement;
 * - a page of 20 (ORDER BY slug LIMIT 20) reads the whole project and sorts it instead of reading
 *   20 rows in index order. The planner cannot know that the page's project is one of the
 *   caller's: it assumes the array of the caller's projects holds 10 of the table's 1,000
 *   projects, so it expects the policy to pass 1% of the project's rows (11 of 1,000, fewer than
 *   the LIMIT). Written `project_id IN (SELECT ...)`, the policy is estimated at 50% and the page
 *   is read in index order, but the read of everything visible loses its BitmapOr and scans the
 *   whole table (2.5 s instead of 3-10 ms on 1,000,000 rows, measured): worse. So the page stays
 *   at 14-18x in server time (68-98x when a project's rows are spread over the table), 2.3-2.7x
 *   through a prepared statement; it was 24-25x (90-224x).
 */
import type { PolicyDefinition } from 'dbkit/migrate';

/** A view in `private` that policies read the caller's rows through (created by the migration). */
export interface CallerView {
  name: string;
  /** The SELECT (the migration wraps it in CREATE VIEW ... WITH (security_barrier) AS). */
  select: string;
  why: string;
}

/** The caller's user id, computed once per statement (Supabase's auth.uid(), or dbkit's compatible one). */
const CALLER_USER = '(SELECT auth.uid())';

export const CALLER_VIEWS: readonly CallerView[] = [
  {
    name: 'private.caller_mind',
    select: `SELECT m.id FROM public.minds m WHERE m.user_id = ${CALLER_USER}`,
    why: "the caller's mind (none when the caller owns no mind)",
  },
  {
    name: 'private.caller_projects',
    select: `SELECT p.id FROM public.content_projects p JOIN public.minds m ON m.id = p.creator_mind_id WHERE m.user_id = ${CALLER_USER}`,
    why: "the projects whose creator is the caller's mind",
  },
  {
    name: 'private.caller_contents',
    select: `SELECT c.id FROM public.contents c JOIN public.content_projects p ON p.id = c.project_id JOIN public.minds m ON m.id = p.creator_mind_id WHERE m.user_id = ${CALLER_USER}`,
    why: "the contents of the caller's projects",
  },
  {
    name: 'private.persona_minds',
    select: 'SELECT m.id FROM public.minds m WHERE m.user_id IS NULL',
    why: 'the persona minds (no user owns them), which attribution may name; never who owns a mind',
  },
];

/**
 * The published contents by project. With it, a read of one project checks the contents policy in
 * its index conditions (the caller's projects, or published rows of that project), not row by row.
 */
export const PUBLISHED_BY_PROJECT = { name: 'idx_contents_published_project', on: "public.contents (project_id) WHERE status = 'published' AND deleted_at IS NULL" } as const;

/** The caller's mind, once per statement. */
export const CALLER_MIND = '(SELECT cm.id FROM private.caller_mind cm)';
/** `project_id` is one of the caller's projects; the array is computed once per statement, so inside an OR both indexes stay usable. */
const inCallerProjects = 'project_id = ANY (ARRAY(SELECT cp.id FROM private.caller_projects cp))';
const inCallerContents = 'content_id IN (SELECT cc.id FROM private.caller_contents cc)';
const PERSONA_MINDS = '(ARRAY(SELECT pm.id FROM private.persona_minds pm))';

export const policies: readonly PolicyDefinition[] = [
  {
    name: 'content_projects_rw_mine',
    table: 'public.content_projects',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: `creator_mind_id = ${CALLER_MIND}`,
    withCheck: `creator_mind_id = ${CALLER_MIND}`,
    why: 'a user reads and writes only the projects whose creator is their mind',
  },
  {
    name: 'contents_rw_by_project',
    table: 'public.contents',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: `${inCallerProjects} OR (status = 'published' AND deleted_at IS NULL)`,
    withCheck: inCallerProjects,
    why: "contents of the user's projects, plus published contents for reading; new or changed rows must stay in the user's projects",
  },
  {
    name: 'contents_update_own_only',
    table: 'public.contents',
    command: 'UPDATE',
    permissive: false,
    roles: ['authenticated'],
    using: inCallerProjects,
    withCheck: null,
    why: "published contents of other tenants are readable, never updatable (and the new row must stay in the user's projects)",
  },
  {
    name: 'contents_delete_own_only',
    table: 'public.contents',
    command: 'DELETE',
    permissive: false,
    roles: ['authenticated'],
    using: inCallerProjects,
    withCheck: null,
    why: 'published contents of other tenants are readable, never deletable',
  },
  {
    name: 'audience_profiles_rw_by_project',
    table: 'public.audience_profiles',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: inCallerProjects,
    withCheck: inCallerProjects,
    why: "audience profiles of the user's projects only",
  },
  {
    name: 'content_minds_rw_by_content',
    table: 'public.content_minds',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: inCallerContents,
    withCheck: inCallerContents,
    why: "mind attributions of contents in the user's projects only (protected through the parent)",
  },
  {
    name: 'content_tags_rw_by_content',
    table: 'public.content_tags',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: inCallerContents,
    withCheck: inCallerContents,
    why: "tags of contents in the user's projects only (protected through the parent)",
  },
  {
    name: 'content_projects_persona_attributable',
    table: 'public.content_projects',
    command: 'ALL',
    permissive: false,
    roles: ['authenticated'],
    using: null,
    withCheck: `persona_mind_id IS NULL OR persona_mind_id = ${CALLER_MIND} OR persona_mind_id = ANY ${PERSONA_MINDS}`,
    why: "a project's persona is the user's own mind or a persona mind (no owner), never another user's mind",
  },
  {
    name: 'content_minds_attributable',
    table: 'public.content_minds',
    command: 'ALL',
    permissive: false,
    roles: ['authenticated'],
    using: null,
    withCheck: `mind_id = ${CALLER_MIND} OR (role <> 'creator' AND mind_id = ANY ${PERSONA_MINDS})`,
    why: "a content's creator is the user's own mind; its persona or author the user's own mind or a persona mind, never another user's mind",
  },
];

/** The declarations (schema.table.policy) in other files of this folder that `policies` replaces. */
export const supersedes: readonly string[] = policies.map((p) => `${p.table}.${p.name}`);
