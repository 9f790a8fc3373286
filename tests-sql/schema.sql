-- CreatorOS schema after `dbkit apply`: tables, attribution columns and indexes, the view's
-- options, RLS flags and the tenant helper. Run with `dbkit test` (each file is rolled back).
SELECT plan(61);

SELECT has_table('public', t, format('table public.%s exists', t))
  FROM unnest(ARRAY['minds', 'content_projects', 'contents', 'audience_profiles', 'content_minds', 'content_tags']) t;

-- AC1-AC3: mind attribution and junction timestamps
SELECT has_column('public', 'content_projects', 'creator_mind_id', 'content_projects.creator_mind_id exists');
SELECT has_column('public', 'content_projects', 'persona_mind_id', 'content_projects.persona_mind_id exists');
SELECT col_type_is('public', 'content_projects', 'creator_mind_id', 'uuid', 'creator_mind_id is a uuid');
SELECT col_type_is('public', 'content_projects', 'persona_mind_id', 'uuid', 'persona_mind_id is a uuid');
SELECT fk_ok('public', 'content_projects', 'creator_mind_id', 'public', 'minds', 'id');
SELECT fk_ok('public', 'content_projects', 'persona_mind_id', 'public', 'minds', 'id');
SELECT has_column('public', 'content_minds', 'created_at', 'content_minds.created_at exists');
SELECT has_column('public', 'content_tags', 'created_at', 'content_tags.created_at exists');
SELECT col_not_null('public', 'contents', 'project_id', 'every content belongs to a project');
-- A parent content is in the same project: the key includes project_id (and no key on
-- parent_content_id alone is left, whose error would tell another tenant's ids from unknown ones)
SELECT col_is_unique('public', 'contents', ARRAY['project_id', 'id'], 'contents is unique on (project_id, id)');
SELECT fk_ok('public', 'contents', ARRAY['project_id', 'parent_content_id'], 'public', 'contents', ARRAY['project_id', 'id']);
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'public.contents'::regclass AND contype = 'f' AND confrelid = 'public.contents'::regclass AND cardinality(conkey) = 1),
          'no foreign key on parent_content_id alone');

-- AC2 and the columns the policies filter on: each leads an index
SELECT has_index('public', 'content_projects', 'idx_content_projects_creator_mind', 'creator_mind_id', 'creator_mind_id is indexed');
SELECT has_index('public', 'content_projects', 'idx_content_projects_persona_mind', 'persona_mind_id', 'persona_mind_id is indexed');
SELECT has_index('public', 'contents', 'idx_contents_status', 'status', 'contents.status is indexed');
SELECT has_index('public', 'contents', 'idx_contents_parent', 'parent_content_id', 'contents.parent_content_id is indexed');
SELECT has_index('public', 'audience_profiles', 'idx_audience_profiles_project', 'project_id', 'audience_profiles.project_id is indexed');
SELECT has_index('public', 'contents', 'idx_contents_published_project', 'project_id', 'published contents are indexed by project (a project read checks the policy in its index conditions)');
SELECT ok(EXISTS (SELECT 1 FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
                   WHERE x.indrelid = 'public.contents'::regclass AND a.attname = 'project_id'), 'contents.project_id leads an index');

-- AC4: the view, running with the caller's rights so that RLS applies through it
SELECT has_view('public', 'v_contents_with_creators', 'view v_contents_with_creators exists');
SELECT ok((SELECT 'security_invoker=true' = ANY (reloptions) FROM pg_class WHERE oid = 'public.v_contents_with_creators'::regclass),
          'v_contents_with_creators has security_invoker=true');
SELECT has_column('public', 'v_contents_with_creators', 'creator_name', 'the view shows the creator''s name');

-- AC5: RLS enabled and forced on the five tables and the minds directory
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = format('public.%I', t)::regclass), format('RLS enabled and forced on %s', t))
  FROM unnest(ARRAY['minds', 'content_projects', 'contents', 'audience_profiles', 'content_minds', 'content_tags']) t;

-- The tenant helper: a SECURITY DEFINER function outside the API-exposed schema, search_path pinned
SELECT has_function('private', 'current_mind_id', ARRAY[]::text[], 'private.current_mind_id() exists');
SELECT is_definer('private', 'current_mind_id', ARRAY[]::text[], 'private.current_mind_id() is SECURITY DEFINER');
SELECT volatility_is('private', 'current_mind_id', ARRAY[]::text[], 'stable', 'private.current_mind_id() is STABLE');
SELECT ok((SELECT proconfig @> ARRAY['search_path=""'] FROM pg_proc WHERE oid = 'private.current_mind_id()'::regprocedure), 'private.current_mind_id() pins search_path');
SELECT ok(NOT has_function_privilege('anon', 'private.current_mind_id()', 'EXECUTE'), 'anon cannot execute private.current_mind_id()');

-- The persona minds (no owner) that attribution may name, read without granting minds.user_id
SELECT has_function('private', 'persona_mind_ids', ARRAY[]::text[], 'private.persona_mind_ids() exists');
SELECT is_definer('private', 'persona_mind_ids', ARRAY[]::text[], 'private.persona_mind_ids() is SECURITY DEFINER');
SELECT volatility_is('private', 'persona_mind_ids', ARRAY[]::text[], 'stable', 'private.persona_mind_ids() is STABLE');
SELECT ok((SELECT proconfig @> ARRAY['search_path=""'] FROM pg_proc WHERE oid = 'private.persona_mind_ids()'::regprocedure), 'private.persona_mind_ids() pins search_path');
SELECT ok(NOT has_function_privilege('anon', 'private.persona_mind_ids()', 'EXECUTE'), 'anon cannot execute private.persona_mind_ids()');

-- What the policies read instead of calling a helper (20261130140000_rls-caller-views): views in the
-- schema the API does not expose, security barriers, owned by a role that bypasses RLS (they run
-- with its rights), readable by authenticated only
SELECT has_view('private', v, format('view private.%s exists', v))
  FROM unnest(ARRAY['caller_mind', 'caller_projects', 'caller_contents', 'persona_minds']) v;
SELECT ok((SELECT 'security_barrier=true' = ANY (reloptions) FROM pg_class WHERE oid = format('private.%I', v)::regclass), format('private.%s is a security barrier', v))
  FROM unnest(ARRAY['caller_mind', 'caller_projects', 'caller_contents', 'persona_minds']) v;
SELECT ok((SELECT r.rolsuper OR r.rolbypassrls FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = format('private.%I', v)::regclass),
          format('private.%s is owned by a role that bypasses RLS', v))
  FROM unnest(ARRAY['caller_mind', 'caller_projects', 'caller_contents', 'persona_minds']) v;
SELECT ok(NOT has_table_privilege('anon', format('private.%I', v), 'SELECT') AND has_table_privilege('authenticated', format('private.%I', v), 'SELECT'),
          format('private.%s is readable by authenticated, not by anon', v))
  FROM unnest(ARRAY['caller_mind', 'caller_projects', 'caller_contents', 'persona_minds']) v;
SELECT is((SELECT count(*)::int FROM pg_depend d JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
            WHERE d.refclassid = 'pg_proc'::regclass
              AND p.polrelid IN ('public.content_projects'::regclass, 'public.contents'::regclass, 'public.audience_profiles'::regclass,
                                 'public.content_minds'::regclass, 'public.content_tags'::regclass)), 0,
          'no tenant policy calls a function (no plan per call, no nested RLS)');

SELECT * FROM finish();
