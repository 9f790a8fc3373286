/**
 * Supabase compatibility, only where absent.
 *
 * On Supabase the roles, the auth schema and its functions exist already: this migration then
 * changes nothing and its down drops nothing. On plain PostgreSQL it creates what the policies
 * need: the API roles, auth.uid()/auth.role()/auth.jwt() reading request.jwt.claims the way
 * Supabase defines them (the legacy per-claim settings first, an empty string meaning "not set"),
 * and a minimal auth.users.
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { change, ensureLedger, functionAbsent, provisionRole, relationAbsent, schemaAbsent, undoChanges } from './support/provision.ts';

const MIGRATION = '20251028110000_supabase-compat';

const claim = (name: string) =>
  `coalesce(nullif(current_setting('request.jwt.claim.${name}', true), ''), (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> '${name}'))`;

const AUTH_FUNCTIONS = [
  {
    signature: 'auth.uid()',
    create: `CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE SET search_path = '' AS $fn$ SELECT ${claim('sub')}::uuid $fn$`,
  },
  {
    signature: 'auth.role()',
    create: `CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE SET search_path = '' AS $fn$ SELECT ${claim('role')}::text $fn$`,
  },
  {
    signature: 'auth.jwt()',
    create: `CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE SET search_path = '' AS $fn$
      SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''), nullif(current_setting('request.jwt.claims', true), ''))::jsonb $fn$`,
  },
];

export const up = (pgm: MigrationBuilder): void => {
  ensureLedger(pgm);
  provisionRole(pgm, MIGRATION, 'anon', 'NOLOGIN NOINHERIT');
  provisionRole(pgm, MIGRATION, 'authenticated', 'NOLOGIN NOINHERIT');
  provisionRole(pgm, MIGRATION, 'service_role', 'NOLOGIN NOINHERIT BYPASSRLS');

  change(pgm, MIGRATION, {
    kind: 'schema',
    name: 'auth',
    when: schemaAbsent('auth'),
    apply: 'CREATE SCHEMA auth; GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role',
    undo: { sql: 'DROP SCHEMA auth' },
  });
  for (const fn of AUTH_FUNCTIONS) {
    change(pgm, MIGRATION, {
      kind: 'function',
      name: fn.signature,
      when: functionAbsent(fn.signature),
      apply: `${fn.create}; GRANT EXECUTE ON FUNCTION ${fn.signature} TO anon, authenticated, service_role`,
      undo: { sql: `DROP FUNCTION ${fn.signature}` },
    });
  }
  change(pgm, MIGRATION, {
    kind: 'table',
    name: 'auth.users',
    when: relationAbsent('auth.users'),
    apply: `CREATE TABLE auth.users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text UNIQUE,
      raw_app_meta_data jsonb NOT NULL DEFAULT '{}',
      raw_user_meta_data jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
    undo: { sql: 'DROP TABLE auth.users' },
  });
};

export const down = (pgm: MigrationBuilder): void => {
  undoChanges(pgm, MIGRATION);
};
