/**
 * What the catalogs must show once each CreatorOS migration is applied, and once it is reverted:
 * the rollout guide's validation counts, checked by `dbkit apply`, `dbkit rollback` and
 * `dbkit status`. A mismatch fails the command.
 */
import type { ExpectationSet } from 'dbkit/migrate';
import { CONTENTS_VIEW, RLS_TABLES, TENANT_TABLES, policies as kissPolicies } from '../../policies/creatoros.ts';
import { policies as attributionPolicies } from '../../policies/creatoros-attribution.ts';
import { CALLER_VIEWS, PUBLISHED_BY_PROJECT, policies as callerViewPolicies } from '../../policies/creatoros-caller-views.ts';

const ATTRIBUTION_INDEXES = ['public.idx_content_projects_creator_mind', 'public.idx_content_projects_persona_mind'];

/** "n policies on the 5 tables" by name, so that a later migration adding policies keeps this check true. */
const policiesPresent = (set: readonly { table: string; name: string }[], present: boolean) =>
  [...new Set(set.map((p) => p.table))].map((table) => ({
    kind: 'policies' as const,
    label: `${present ? '' : 'no '}${set.filter((p) => p.table === table).map((p) => p.name).join(', ')} on ${table}`,
    table,
    names: set.filter((p) => p.table === table).map((p) => p.name),
    present,
  }));
const callerViews = CALLER_VIEWS.map((v) => v.name);
const tenantPolicies = kissPolicies.filter((p) => (TENANT_TABLES as readonly string[]).includes(p.table));

export const expectations: ExpectationSet = {
  '20251028110000_supabase-compat': {
    applied: [
      { kind: 'roles', label: 'roles anon, authenticated, service_role (BYPASSRLS) exist', roles: [{ name: 'anon' }, { name: 'authenticated' }, { name: 'service_role', bypassRls: true }] },
      { kind: 'functions', label: 'auth.uid(), auth.role(), auth.jwt() exist', signatures: ['auth.uid()', 'auth.role()', 'auth.jwt()'], present: true },
    ],
    reverted: [],
  },
  '20251028115000_creatoros-baseline': {
    applied: [
      { kind: 'relations', label: 'CreatorOS tables exist', names: ['public.minds', ...TENANT_TABLES], present: true },
      { kind: 'columns', label: 'contents has its hierarchy columns', table: 'public.contents', columns: ['project_id', 'parent_content_id', 'sequence_order', 'content_type'], present: true },
    ],
    reverted: [],
  },
  '20251028120000_mind-attribution': {
    applied: [
      { kind: 'columns', label: 'attribution columns present', table: 'public.content_projects', columns: ['creator_mind_id', 'persona_mind_id'], present: true },
      { kind: 'indexes', label: 'attribution indexes present and valid', names: ATTRIBUTION_INDEXES, present: true },
      { kind: 'columns', label: 'content_minds.created_at present', table: 'public.content_minds', columns: ['created_at'], present: true },
      { kind: 'columns', label: 'content_tags.created_at present', table: 'public.content_tags', columns: ['created_at'], present: true },
      { kind: 'viewOption', label: `view ${CONTENTS_VIEW} present with security_invoker`, view: CONTENTS_VIEW, option: 'security_invoker=true', present: true },
    ],
    reverted: [
      { kind: 'columns', label: 'attribution columns gone', table: 'public.content_projects', columns: ['creator_mind_id', 'persona_mind_id'], present: false },
      { kind: 'indexes', label: 'attribution indexes gone', names: ATTRIBUTION_INDEXES, present: false },
      { kind: 'relations', label: `view ${CONTENTS_VIEW} gone`, names: [CONTENTS_VIEW], present: false },
    ],
  },
  '20251028120001_kiss-rls': {
    applied: [
      { kind: 'rls', label: 'RLS enabled and forced on 5 tables', tables: TENANT_TABLES, enabled: true, forced: true },
      ...policiesPresent(tenantPolicies, true),
      { kind: 'rls', label: 'RLS enabled and forced on minds (directory)', tables: ['public.minds'], enabled: true, forced: true },
      { kind: 'policyCount', label: '1 directory policy on minds', tables: ['public.minds'], count: 1 },
      { kind: 'functions', label: 'private.current_mind_id() exists', signatures: ['private.current_mind_id()'], present: true },
      { kind: 'indexes', label: 'policy filter columns indexed', names: ['public.idx_contents_status', 'public.idx_audience_profiles_project'], present: true },
      { kind: 'noGrant', label: 'anon has no access', grantee: 'anon', relations: [...RLS_TABLES, CONTENTS_VIEW], privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] },
    ],
    reverted: [
      { kind: 'policyCount', label: '0 policies on the 5 tables', tables: TENANT_TABLES, count: 0 },
      { kind: 'rls', label: 'RLS off on the 5 tables', tables: TENANT_TABLES, enabled: false, forced: false },
    ],
  },
  '20261130120000_same-tenant-references': {
    applied: [
      { kind: 'constraints', label: 'a parent content is in the same project (composite key)', table: 'public.contents', names: ['contents_project_id_id_key', 'contents_parent_same_project_fkey'], present: true },
      { kind: 'functions', label: 'private.persona_mind_ids() exists', signatures: ['private.persona_mind_ids()'], present: true },
      ...policiesPresent(attributionPolicies, true),
      { kind: 'policyCount', label: '9 policies on the 5 tables', tables: TENANT_TABLES, count: 9 },
    ],
    reverted: [
      { kind: 'constraints', label: 'composite parent key gone', table: 'public.contents', names: ['contents_project_id_id_key', 'contents_parent_same_project_fkey'], present: false },
      { kind: 'functions', label: 'private.persona_mind_ids() gone', signatures: ['private.persona_mind_ids()'], present: false },
      ...policiesPresent(attributionPolicies, false),
      { kind: 'policyCount', label: '7 policies on the 5 tables', tables: TENANT_TABLES, count: 7 },
    ],
  },
  '20261130140000_rls-caller-views': {
    applied: [
      { kind: 'relations', label: `views ${callerViews.join(', ')} exist`, names: callerViews, present: true },
      ...callerViews.map((view) => ({ kind: 'viewOption' as const, label: `${view} is a security barrier`, view, option: 'security_barrier=true', present: true })),
      { kind: 'indexes', label: 'published contents indexed by project', names: [`public.${PUBLISHED_BY_PROJECT.name}`], present: true },
      { kind: 'noGrant', label: 'anon cannot read the caller views', grantee: 'anon', relations: callerViews, privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] },
      ...policiesPresent(callerViewPolicies, true),
      { kind: 'policyCount', label: '9 policies on the 5 tables', tables: TENANT_TABLES, count: 9 },
    ],
    reverted: [
      { kind: 'relations', label: 'caller views gone', names: callerViews, present: false },
      { kind: 'indexes', label: 'published-by-project index gone', names: [`public.${PUBLISHED_BY_PROJECT.name}`], present: false },
      { kind: 'functions', label: 'private.current_mind_id() and private.persona_mind_ids() still exist', signatures: ['private.current_mind_id()', 'private.persona_mind_ids()'], present: true },
      { kind: 'policyCount', label: '9 policies on the 5 tables', tables: TENANT_TABLES, count: 9 },
    ],
  },
};
