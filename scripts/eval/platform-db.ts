/**
 * A scratch database that looks like a Supabase project's to RLS: the platform stubs of
 * scripts/eval/plain.ts (auth, storage, extensions, roles), plus auth.uid()/auth.role()/auth.email()
 * reading request.jwt.claims as Supabase's do, and the default grants Supabase gives the API roles
 * on public. Evaluation only.
 */
import { withClient } from '../../src/db/scoped.ts';
import { createMissingRoles, installSupabaseStubs } from './plain.ts';

/** What the platform does beyond the stubs of scripts/eval/plain.ts: auth.uid() from the claims, and its default grants. */
export const PLATFORM = `
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid $$;
CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''), (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')) $$;
CREATE OR REPLACE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.email', true), ''), (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')) $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON storage.objects TO authenticated, service_role;
GRANT SELECT ON storage.buckets TO anon, authenticated, service_role;`;


export async function installPlatform(adminUrl: string, url: string): Promise<void> {
  await createMissingRoles(adminUrl);
  await withClient(url, {}, async (c) => {
    await installSupabaseStubs(c);
    await c.query(PLATFORM);
  });
}
