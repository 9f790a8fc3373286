/**
 * CreatorOS row-level security, declared once.
 *
 * Tenancy: a user owns one mind (minds.user_id = auth.uid()); a project belongs to the tenant
 * whose mind is its creator_mind_id; contents, audience profiles and the junction tables belong
 * to their project's tenant. Published contents are readable by every authenticated user. anon
 * reaches nothing; service_role has BYPASSRLS.
 *
 * Seven tenant policies cover the five content tables (as the seeds ask). contents needs three:
 * one permissive policy for every command (own rows, plus published rows for reading) and two
 * RESTRICTIVE ones that keep UPDATE and DELETE to own rows; a separate permissive SELECT policy
 * for published rows would put two permissive policies on SELECT, which Postgres evaluates both
 * of for every row (the multiple-permissive-policies lint).
 *
 * minds needs protection the seeds missed: the view joins it for creator names, so authenticated
 * users must read it, and a readable table without RLS is a hole. It gets RLS with one read-only
 * directory policy, and only its public columns are granted (not user_id).
 *
 * `policies` below is what migration 20251028120001_kiss-rls created; an applied migration's SQL
 * must never change, so later policy changes are declared in a file of their own beside this one
 * (policies/creatoros-attribution.ts), and rls-audit compares all of them.
 */
import type { PolicyDefinition, TenancyMap } from 'dbkit/migrate';

/** The caller's mind, computed once per statement (not once per row) thanks to the sub-select. */
export const CURRENT_MIND = '(SELECT private.current_mind_id())';
const ownProjects = `SELECT p.id FROM public.content_projects p WHERE p.creator_mind_id = ${CURRENT_MIND}`;
const ownContents = `SELECT c.id FROM public.contents c WHERE c.project_id IN (${ownProjects})`;
/**
 * In an OR, `project_id IN (SELECT ...)` is run as a hashed sub-plan on every row of a sequential
 * scan; `= ANY (ARRAY(SELECT ...))` is computed once per statement and lets the OR use both indexes.
 */
const inOwnProjects = `project_id = ANY (ARRAY(${ownProjects}))`;

/** The five tables whose rows belong to a tenant (seed AC5). */
export const TENANT_TABLES = ['public.content_projects', 'public.contents', 'public.audience_profiles', 'public.content_minds', 'public.content_tags'] as const;
/** Tables with RLS enabled and forced: the tenant tables and the minds directory. */
export const RLS_TABLES = [...TENANT_TABLES, 'public.minds'] as const;
export const CONTENTS_VIEW = 'public.v_contents_with_creators';

export const policies: readonly PolicyDefinition[] = [
  {
    name: 'content_projects_rw_mine',
    table: 'public.content_projects',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: `creator_mind_id = ${CURRENT_MIND}`,
    withCheck: `creator_mind_id = ${CURRENT_MIND}`,
    why: 'a user reads and writes only the projects whose creator is their mind',
  },
  {
    name: 'contents_rw_by_project',
    table: 'public.contents',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: `${inOwnProjects} OR (status = 'published' AND deleted_at IS NULL)`,
    withCheck: inOwnProjects,
    why: "contents of the user's projects, plus published contents for reading; new or changed rows must stay in the user's projects",
  },
  {
    name: 'contents_update_own_only',
    table: 'public.contents',
    command: 'UPDATE',
    permissive: false,
    roles: ['authenticated'],
    using: `project_id IN (${ownProjects})`,
    withCheck: null,
    why: "published contents of other tenants are readable, never updatable (and the new row must stay in the user's projects)",
  },
  {
    name: 'contents_delete_own_only',
    table: 'public.contents',
    command: 'DELETE',
    permissive: false,
    roles: ['authenticated'],
    using: `project_id IN (${ownProjects})`,
    withCheck: null,
    why: 'published contents of other tenants are readable, never deletable',
  },
  {
    name: 'audience_profiles_rw_by_project',
    table: 'public.audience_profiles',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: `project_id IN (${ownProjects})`,
    withCheck: `project_id IN (${ownProjects})`,
    why: "audience profiles of the user's projects only",
  },
  {
    name: 'content_minds_rw_by_content',
    table: 'public.content_minds',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: `content_id IN (${ownContents})`,
    withCheck: `content_id IN (${ownContents})`,
    why: "mind attributions of contents in the user's projects only (protected through the parent)",
  },
  {
    name: 'content_tags_rw_by_content',
    table: 'public.content_tags',
    command: 'ALL',
    permissive: true,
    roles: ['authenticated'],
    using: `content_id IN (${ownContents})`,
    withCheck: `content_id IN (${ownContents})`,
    why: "tags of contents in the user's projects only (protected through the parent)",
  },
  {
    name: 'minds_read_directory',
    table: 'public.minds',
    command: 'SELECT',
    permissive: true,
    roles: ['authenticated'],
    using: 'true',
    withCheck: null,
    why: 'authenticated users may read the mind directory (id, slug, display name): creator and persona names shown with content',
  },
];

/**
 * Attribution: which minds a row may name (seed AC1: the creator is who creates the course, the
 * persona whose voice it emulates, e.g. "Naval Ravikant").
 * - As creator (content_projects.creator_mind_id, content_minds role 'creator'): the caller's own
 *   mind only.
 * - As persona or author (content_projects.persona_mind_id, content_minds roles 'persona' and
 *   'author'): the caller's own mind, or a persona mind, i.e. a mind no user owns
 *   (minds.user_id IS NULL: the MMOS minds of public figures, "Persona: Hormozi").
 * - Never another user's mind: that is another tenant's identity (and naming it let one tenant pin
 *   rows onto another's mind, which then could not be deleted without them).
 * Enforced by the restrictive policies of policies/creatoros-attribution.ts (migration
 * 20261130120000_same-tenant-references). The persona minds are read through
 * private.persona_mind_ids(), SECURITY DEFINER because authenticated cannot read minds.user_id; it
 * reveals which minds are personas, never who owns a mind.
 */
export const PERSONA_MINDS = '(ARRAY(SELECT private.persona_mind_ids()))';
/** SQL: `column` names the caller's own mind or a persona mind (computed once per statement). */
export const namesOwnOrPersonaMind = (column: string) => `${column} = ${CURRENT_MIND} OR ${column} = ANY ${PERSONA_MINDS}`;

/** Columns of minds that authenticated users may read (user_id is withheld). */
export const MINDS_PUBLIC_COLUMNS = ['id', 'slug', 'display_name', 'created_at'] as const;

/**
 * How each CreatorOS table reaches its tenant, for the isolation matrix of `dbkit rls-audit`: a
 * tenant is a user's mind; projects hang from the mind that creates them, contents and audience
 * profiles from their project, the junction tables from their content. Published contents are
 * readable by every authenticated user (never by anon); the view shows contents the same way.
 */
export const tenancy: TenancyMap = {
  root: { table: 'public.minds', key: 'id', userColumn: 'user_id' },
  tables: [
    { table: 'public.content_projects', via: { column: 'creator_mind_id', parent: 'public.minds' } },
    {
      table: 'public.contents',
      via: { column: 'project_id', parent: 'public.content_projects' },
      published: { values: { status: 'published' }, readableBy: ['authenticated'] },
    },
    { table: 'public.audience_profiles', via: { column: 'project_id', parent: 'public.content_projects' } },
    { table: 'public.content_minds', via: { column: 'content_id', parent: 'public.contents' }, values: { role: 'creator' }, probeValues: { role: 'author' } },
    { table: 'public.content_tags', via: { column: 'content_id', parent: 'public.contents' } },
  ],
  views: [{ view: CONTENTS_VIEW, of: 'public.contents', key: 'id' }],
};
