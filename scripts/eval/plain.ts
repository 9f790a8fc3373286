/**
 * The plain tools, as the evaluation runs them: the real node-pg-migrate CLI from node_modules,
 * and Supabase SQL files applied psql-style in file order, each in one transaction with the
 * history row the Supabase CLI writes (supabase/cli pkg/migration: CreateMigrationTable, then
 * RESET ALL and the file and its INSERT in one implicit transaction). Also the stubs a Supabase
 * project's migrations expect of the platform.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { withClient } from '../../src/db/scoped.ts';
import { loadSqlParser } from '../../src/core/sql-parse.ts';
import { supabaseFileName, supabaseHistoryStatements, supabaseSkipsAsInit } from '../../src/migrations/sql-file.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
const NODE_PG_MIGRATE = path.join(ROOT, 'node_modules', 'node-pg-migrate', 'bin', 'node-pg-migrate.js');
const DBKIT = path.join(ROOT, 'bin', 'dbkit.js');

export interface Run {
  code: number | null;
  output: string;
  ms: number;
}

/** Runs a node child; the database URL goes in the environment, never on the command line. */
function run(script: string, args: string[], cwd: string, env: Record<string, string>): Promise<Run> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: performance.now() - started }));
  });
}

export const nodePgMigrate = (url: string, args: string[], cwd: string) => run(NODE_PG_MIGRATE, args, cwd, { DATABASE_URL: url });
export const dbkit = (url: string, args: string[], cwd: string, stateDir: string) => run(DBKIT, args, cwd, { DATABASE_URL: url, DBKIT_STATE_DIR: stateDir });

/** The files the Supabase CLI would apply, in its order. */
export function supabaseFiles(dir: string): string[] {
  const names = readdirSync(dir, { withFileTypes: true }).sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  return names.filter((e, i) => e.isFile() && !(i === 0 && supabaseSkipsAsInit(e.name)) && supabaseFileName(e.name) !== null).map((e) => e.name);
}

/** Applies Supabase migration files as psql -1 would (the first `count` of them), recording the history the CLI records. */
export async function applySupabasePlain(url: string, dir: string, count = Infinity): Promise<{ applied: number; ms: number; error: string | null }> {
  await loadSqlParser();
  const started = performance.now();
  let applied = 0;
  const error = await withClient(url, {}, async (client) => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS supabase_migrations; CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);
      ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]; ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text`);
    for (const file of supabaseFiles(dir).slice(0, count)) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      const { version, name } = supabaseFileName(file)!;
      await client.query('RESET ALL');
      try {
        await client.query('BEGIN');
        await client.query(text);
        await client.query('INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES ($1, $2, $3)', [version, name, supabaseHistoryStatements(text) ?? []]);
        await client.query('COMMIT');
        applied += 1;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        return `${file}: ${(e as Error).message}`;
      }
    }
    return null;
  });
  return { applied, ms: performance.now() - started, error };
}

/** Roles every Supabase database has (cluster-wide): created when missing, listed so they can be dropped after. */
export const SUPABASE_ROLES = ['anon', 'authenticated', 'service_role', 'supabase_admin', 'supabase_auth_admin', 'supabase_storage_admin', 'dashboard_user'];

export async function createMissingRoles(adminUrl: string): Promise<string[]> {
  return withClient(adminUrl, {}, async (client) => {
    const created: string[] = [];
    for (const role of SUPABASE_ROLES) {
      const { rows } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (rows.length > 0) continue;
      await client.query(`CREATE ROLE ${role} NOLOGIN${role === 'service_role' ? ' BYPASSRLS' : ''}`);
      created.push(role);
    }
    return created;
  });
}

/** The platform's schemas that migrations refer to (auth, storage, extensions), as minimal stubs. */
export async function installSupabaseStubs(client: pg.ClientBase): Promise<void> {
  await client.query(`
    CREATE SCHEMA IF NOT EXISTS extensions;
    CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
    CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
    CREATE SCHEMA IF NOT EXISTS auth;
    CREATE TABLE IF NOT EXISTS auth.users (id uuid PRIMARY KEY, email text, raw_user_meta_data jsonb, raw_app_meta_data jsonb, created_at timestamptz DEFAULT now());
    CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
    CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.role', true), '') $$;
    CREATE OR REPLACE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.email', true), '') $$;
    CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $$;
    CREATE SCHEMA IF NOT EXISTS storage;
    CREATE TABLE IF NOT EXISTS storage.buckets (id text PRIMARY KEY, name text NOT NULL, owner uuid, public boolean DEFAULT false, created_at timestamptz DEFAULT now());
    CREATE TABLE IF NOT EXISTS storage.objects (id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(), bucket_id text REFERENCES storage.buckets, name text, owner uuid, metadata jsonb, created_at timestamptz DEFAULT now());
    CREATE OR REPLACE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$ SELECT (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1] $$;
    CREATE OR REPLACE FUNCTION storage.filename(name text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)] $$;
    CREATE TABLE IF NOT EXISTS storage.s3_multipart_uploads (id text PRIMARY KEY, bucket_id text REFERENCES storage.buckets, key text, created_at timestamptz DEFAULT now());
    CREATE TABLE IF NOT EXISTS storage.s3_multipart_uploads_parts (id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(), upload_id text REFERENCES storage.s3_multipart_uploads ON DELETE CASCADE, part_number int, etag text);
    ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
    -- Database webhooks: a trigger function that would send the row over HTTP (the stub sends nothing).
    CREATE SCHEMA IF NOT EXISTS supabase_functions;
    CREATE OR REPLACE FUNCTION supabase_functions.http_request() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    GRANT USAGE ON SCHEMA auth, storage, extensions TO anon, authenticated, service_role;
    -- Supabase puts the extensions schema on every session's search_path.
    DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET search_path = "$user", public, extensions', current_database()); END $$;`);
}
