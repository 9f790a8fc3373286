-- The four isolation scenarios of the story (AC10), acting the way Supabase's API does:
-- SET LOCAL ROLE + request.jwt.claims. Users A and B each own a mind; everything is rolled back.
SELECT plan(34);

INSERT INTO public.minds (id, slug, display_name, user_id) VALUES
  ('a0000000-0000-4000-8000-00000000000a', 'rls-test-mind-a', 'Mind A', '10000000-0000-4000-8000-00000000000a'),
  ('b0000000-0000-4000-8000-00000000000b', 'rls-test-mind-b', 'Mind B', '20000000-0000-4000-8000-00000000000b'),
  ('c0000000-0000-4000-8000-00000000000c', 'rls-test-persona', 'Persona (no owner)', NULL);

-- 1. User A creates a course; user B cannot access it ------------------------------------------
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "10000000-0000-4000-8000-00000000000a", "role": "authenticated"}', true);
SELECT lives_ok($$INSERT INTO public.content_projects (id, slug, name, creator_mind_id)
                  VALUES ('a1000000-0000-4000-8000-000000000001', 'rls-test-course-a', 'Course A', 'a0000000-0000-4000-8000-00000000000a')$$,
                'A creates a course of their own');
SELECT lives_ok($$INSERT INTO public.contents (id, project_id, slug, title, content_type)
                  VALUES ('a2000000-0000-4000-8000-000000000001', 'a1000000-0000-4000-8000-000000000001', 'lesson-1', 'Lesson 1', 'course_lesson')$$,
                'A adds a draft lesson to it');
SELECT is((SELECT count(*)::int FROM public.content_projects WHERE id = 'a1000000-0000-4000-8000-000000000001'), 1, 'A sees the course');
SELECT throws_ok($$INSERT INTO public.content_projects (slug, name, creator_mind_id) VALUES ('rls-test-course-x', 'X', 'b0000000-0000-4000-8000-00000000000b')$$,
                 '42501', NULL, 'A cannot create a course in B''s name');

SELECT set_config('request.jwt.claims', '{"sub": "20000000-0000-4000-8000-00000000000b", "role": "authenticated"}', true);
SELECT is((SELECT count(*)::int FROM public.content_projects WHERE id = 'a1000000-0000-4000-8000-000000000001'), 0, 'B does not see A''s course');
SELECT is((SELECT count(*)::int FROM public.contents WHERE project_id = 'a1000000-0000-4000-8000-000000000001'), 0, 'B does not see A''s draft lesson');
WITH changed AS (UPDATE public.content_projects SET name = 'taken over' WHERE id = 'a1000000-0000-4000-8000-000000000001' RETURNING 1)
SELECT is(count(*)::int, 0, 'B cannot rename A''s course') FROM changed;
WITH gone AS (DELETE FROM public.content_projects WHERE id = 'a1000000-0000-4000-8000-000000000001' RETURNING 1)
SELECT is(count(*)::int, 0, 'B cannot delete A''s course') FROM gone;
SELECT throws_ok($$INSERT INTO public.contents (project_id, slug, title, content_type) VALUES ('a1000000-0000-4000-8000-000000000001', 'intruder', 'Intruder', 'course_lesson')$$,
                 '42501', NULL, 'B cannot add a lesson to A''s course');

-- 2. The service role bypasses RLS ------------------------------------------------------------
RESET ROLE;
SET LOCAL ROLE service_role;
SELECT set_config('request.jwt.claims', '{"role": "service_role"}', true);
SELECT is((SELECT count(*)::int FROM public.content_projects WHERE slug = 'rls-test-course-a'), 1, 'service_role sees A''s course');
SELECT lives_ok($$INSERT INTO public.content_projects (id, slug, name, creator_mind_id)
                  VALUES ('b1000000-0000-4000-8000-000000000001', 'rls-test-course-b', 'Course B', 'b0000000-0000-4000-8000-00000000000b')$$,
                'service_role creates a course for B');
SELECT is((SELECT count(*)::int FROM public.content_projects WHERE slug IN ('rls-test-course-a', 'rls-test-course-b')), 2, 'service_role sees both tenants');

-- 3. Published content is readable by every authenticated user (not by anon) ---------------------
RESET ROLE;
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "10000000-0000-4000-8000-00000000000a", "role": "authenticated"}', true);
SELECT lives_ok($$INSERT INTO public.contents (id, project_id, slug, title, content_type, status)
                  VALUES ('a2000000-0000-4000-8000-000000000002', 'a1000000-0000-4000-8000-000000000001', 'published-1', 'Published 1', 'course_lesson', 'published')$$,
                'A publishes a lesson');
SELECT set_config('request.jwt.claims', '{"sub": "20000000-0000-4000-8000-00000000000b", "role": "authenticated"}', true);
SELECT is((SELECT count(*)::int FROM public.contents WHERE id = 'a2000000-0000-4000-8000-000000000002'), 1, 'B reads A''s published lesson');
SELECT is((SELECT creator_name FROM public.v_contents_with_creators WHERE id = 'a2000000-0000-4000-8000-000000000002'), NULL, 'through the view too, without A''s project (and so without its creator)');
WITH changed AS (UPDATE public.contents SET title = 'defaced' WHERE id = 'a2000000-0000-4000-8000-000000000002' RETURNING 1)
SELECT is(count(*)::int, 0, 'B cannot edit A''s published lesson') FROM changed;
RESET ROLE;
SET LOCAL ROLE anon;
SELECT set_config('request.jwt.claims', '{"role": "anon"}', true);
SELECT throws_ok($$SELECT count(*) FROM public.contents$$, '42501', NULL, 'anon cannot read contents at all');

-- 4. Junction tables are protected through their parent content ----------------------------------
RESET ROLE;
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "10000000-0000-4000-8000-00000000000a", "role": "authenticated"}', true);
SELECT lives_ok($$INSERT INTO public.content_tags (content_id, tag) VALUES ('a2000000-0000-4000-8000-000000000001', 'rls-test')$$, 'A tags their lesson');
SELECT set_config('request.jwt.claims', '{"sub": "20000000-0000-4000-8000-00000000000b", "role": "authenticated"}', true);
SELECT is((SELECT count(*)::int FROM public.content_tags WHERE content_id = 'a2000000-0000-4000-8000-000000000001'), 0, 'B does not see the tags of A''s lesson');
SELECT throws_ok($$INSERT INTO public.content_minds (content_id, mind_id, role) VALUES ('a2000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 'author')$$,
                 '42501', NULL, 'B cannot attribute A''s lesson to their mind');
RESET ROLE;

-- 5. References stay inside a tenant: no child under another tenant's content, no other user's mind --
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "20000000-0000-4000-8000-00000000000b", "role": "authenticated"}', true);
SELECT lives_ok($$INSERT INTO public.contents (id, project_id, slug, title, content_type)
                  VALUES ('b2000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000001', 'draft-b', 'Draft B', 'course_outline')$$,
                'B writes a draft');
SELECT set_config('request.jwt.claims', '{"sub": "10000000-0000-4000-8000-00000000000a", "role": "authenticated"}', true);
SELECT throws_like($$INSERT INTO public.contents (project_id, parent_content_id, slug, title, content_type)
                    VALUES ('a1000000-0000-4000-8000-000000000001', 'b2000000-0000-4000-8000-000000000001', 'child', 'Child', 'course_module')$$,
                   '%contents_parent_same_project_fkey%', 'A cannot hang a child under B''s draft');
SELECT throws_like($$INSERT INTO public.contents (project_id, parent_content_id, slug, title, content_type)
                    VALUES ('a1000000-0000-4000-8000-000000000001', 'dddddddd-0000-4000-8000-00000000000d', 'child', 'Child', 'course_module')$$,
                   '%contents_parent_same_project_fkey%', 'an id that does not exist gives the same error (no existence oracle)');
SELECT throws_ok($$INSERT INTO public.content_minds (content_id, mind_id, role) VALUES ('a2000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b', 'author')$$,
                 '42501', NULL, 'A cannot name B''s mind as the author of their lesson');
SELECT throws_ok($$UPDATE public.content_projects SET persona_mind_id = 'b0000000-0000-4000-8000-00000000000b' WHERE id = 'a1000000-0000-4000-8000-000000000001'$$,
                 '42501', NULL, 'A cannot name B''s mind as the persona of their course');
SELECT lives_ok($$UPDATE public.content_projects SET persona_mind_id = 'c0000000-0000-4000-8000-00000000000c' WHERE id = 'a1000000-0000-4000-8000-000000000001'$$,
                'A names a persona mind (no owner) as the persona of their course');
SELECT lives_ok($$INSERT INTO public.content_minds (content_id, mind_id, role) VALUES
                  ('a2000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-00000000000a', 'creator'),
                  ('a2000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000c', 'persona')$$,
                'A attributes their lesson to themselves as creator and to a persona mind');
SELECT throws_ok($$INSERT INTO public.content_minds (content_id, mind_id, role) VALUES ('a2000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000c', 'creator')$$,
                 '42501', NULL, 'a persona mind is never the creator');
SELECT set_config('request.jwt.claims', '{"sub": "20000000-0000-4000-8000-00000000000b", "role": "authenticated"}', true);
WITH gone AS (DELETE FROM public.contents WHERE id = 'b2000000-0000-4000-8000-000000000001' RETURNING 1)
SELECT is(count(*)::int, 1, 'B can still delete their own draft') FROM gone;
RESET ROLE;

-- 6. The views the policies read show the caller's own rows, and no one else's ------------------------
SET LOCAL ROLE authenticated;
SELECT set_config('request.jwt.claims', '{"sub": "10000000-0000-4000-8000-00000000000a", "role": "authenticated"}', true);
SELECT results_eq('SELECT id FROM private.caller_mind', $$VALUES ('a0000000-0000-4000-8000-00000000000a'::uuid)$$, 'private.caller_mind is A''s mind');
SELECT results_eq('SELECT id FROM private.caller_projects', $$VALUES ('a1000000-0000-4000-8000-000000000001'::uuid)$$, 'private.caller_projects holds A''s course, not B''s');
SELECT results_eq('SELECT id FROM private.caller_contents ORDER BY id',
                  $$VALUES ('a2000000-0000-4000-8000-000000000001'::uuid), ('a2000000-0000-4000-8000-000000000002'::uuid)$$, 'private.caller_contents holds A''s two lessons only');
SELECT ok((SELECT 'c0000000-0000-4000-8000-00000000000c'::uuid = ANY (ARRAY(SELECT id FROM private.persona_minds))
              AND NOT 'b0000000-0000-4000-8000-00000000000b'::uuid = ANY (ARRAY(SELECT id FROM private.persona_minds))),
          'private.persona_minds names the persona mind, not B''s mind');
SELECT set_config('request.jwt.claims', '{"sub": "30000000-0000-4000-8000-00000000000c", "role": "authenticated"}', true);
SELECT is_empty('SELECT id FROM private.caller_projects UNION ALL SELECT id FROM private.caller_mind', 'a user without a mind has no mind and no project');
RESET ROLE;

SELECT * FROM finish();
