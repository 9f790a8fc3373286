-- CreatorOS policies (AC6-AC9), as declared in policies/creatoros.ts and policies/creatoros-attribution.ts:
-- names, commands, roles.
SELECT plan(36);

SELECT policies_are('public', 'content_projects', ARRAY['content_projects_rw_mine', 'content_projects_persona_attributable'], 'content_projects has exactly its two policies');
SELECT policies_are('public', 'contents', ARRAY['contents_rw_by_project', 'contents_update_own_only', 'contents_delete_own_only'], 'contents has exactly its three policies');
SELECT policies_are('public', 'audience_profiles', ARRAY['audience_profiles_rw_by_project'], 'audience_profiles has exactly its policy');
SELECT policies_are('public', 'content_minds', ARRAY['content_minds_rw_by_content', 'content_minds_attributable'], 'content_minds has exactly its two policies');
SELECT policies_are('public', 'content_tags', ARRAY['content_tags_rw_by_content'], 'content_tags has exactly its policy');
SELECT policies_are('public', 'minds', ARRAY['minds_read_directory'], 'minds has exactly its directory policy');

SELECT policy_cmd_is('public', 'content_projects', 'content_projects_rw_mine', 'all', 'content_projects_rw_mine is FOR ALL');
SELECT policy_cmd_is('public', 'contents', 'contents_rw_by_project', 'all', 'contents_rw_by_project is FOR ALL');
SELECT policy_cmd_is('public', 'contents', 'contents_update_own_only', 'update', 'contents_update_own_only is FOR UPDATE');
SELECT policy_cmd_is('public', 'contents', 'contents_delete_own_only', 'delete', 'contents_delete_own_only is FOR DELETE');
SELECT policy_cmd_is('public', 'audience_profiles', 'audience_profiles_rw_by_project', 'all', 'audience_profiles_rw_by_project is FOR ALL');
SELECT policy_cmd_is('public', 'content_minds', 'content_minds_rw_by_content', 'all', 'content_minds_rw_by_content is FOR ALL');
SELECT policy_cmd_is('public', 'content_tags', 'content_tags_rw_by_content', 'all', 'content_tags_rw_by_content is FOR ALL');
SELECT policy_cmd_is('public', 'minds', 'minds_read_directory', 'select', 'minds_read_directory is FOR SELECT');
SELECT policy_cmd_is('public', 'content_projects', 'content_projects_persona_attributable', 'all', 'content_projects_persona_attributable is FOR ALL');
SELECT policy_cmd_is('public', 'content_minds', 'content_minds_attributable', 'all', 'content_minds_attributable is FOR ALL');

SELECT policy_roles_are('public', 'content_projects', 'content_projects_rw_mine', ARRAY['authenticated'], 'content_projects_rw_mine applies to authenticated only');
SELECT policy_roles_are('public', 'contents', 'contents_rw_by_project', ARRAY['authenticated'], 'contents_rw_by_project applies to authenticated only');
SELECT policy_roles_are('public', 'contents', 'contents_update_own_only', ARRAY['authenticated'], 'contents_update_own_only applies to authenticated only');
SELECT policy_roles_are('public', 'contents', 'contents_delete_own_only', ARRAY['authenticated'], 'contents_delete_own_only applies to authenticated only');
SELECT policy_roles_are('public', 'audience_profiles', 'audience_profiles_rw_by_project', ARRAY['authenticated'], 'audience_profiles_rw_by_project applies to authenticated only');
SELECT policy_roles_are('public', 'content_minds', 'content_minds_rw_by_content', ARRAY['authenticated'], 'content_minds_rw_by_content applies to authenticated only');
SELECT policy_roles_are('public', 'content_tags', 'content_tags_rw_by_content', ARRAY['authenticated'], 'content_tags_rw_by_content applies to authenticated only');
SELECT policy_roles_are('public', 'minds', 'minds_read_directory', ARRAY['authenticated'], 'minds_read_directory applies to authenticated only');
SELECT policy_roles_are('public', 'content_projects', 'content_projects_persona_attributable', ARRAY['authenticated'], 'content_projects_persona_attributable applies to authenticated only');
SELECT policy_roles_are('public', 'content_minds', 'content_minds_attributable', ARRAY['authenticated'], 'content_minds_attributable applies to authenticated only');

-- The two contents policies that keep UPDATE and DELETE to own rows are RESTRICTIVE, and so are the
-- two attribution policies, which check new rows only (no USING: reads are unchanged)
SELECT ok(NOT polpermissive, format('%s is RESTRICTIVE', polname))
  FROM pg_policy WHERE polrelid = 'public.contents'::regclass AND polname IN ('contents_update_own_only', 'contents_delete_own_only') ORDER BY polname;
SELECT ok(NOT polpermissive AND polqual IS NULL AND polwithcheck IS NOT NULL, format('%s is RESTRICTIVE, WITH CHECK only', polname))
  FROM pg_policy WHERE polname IN ('content_projects_persona_attributable', 'content_minds_attributable') ORDER BY polname;

-- Least privilege: anon holds nothing, authenticated reads only the public columns of minds
SELECT ok(NOT has_table_privilege('anon', t, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE'), format('anon has no privilege on %s', t))
  FROM unnest(ARRAY['public.content_projects', 'public.contents', 'public.minds', 'public.v_contents_with_creators']) t;
SELECT ok(NOT has_column_privilege('authenticated', 'public.minds', 'user_id', 'SELECT'), 'authenticated cannot read minds.user_id');
SELECT ok(has_column_privilege('authenticated', 'public.minds', 'display_name', 'SELECT'), 'authenticated can read minds.display_name');

SELECT * FROM finish();
