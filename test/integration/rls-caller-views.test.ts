/**
 * Migration 20261130140000_rls-caller-views on databases that applied the set before it: it
 * resets dbkit's own compatibility auth.uid() so that it inlines (and its down puts the function
 * back byte for byte), leaves an auth.uid() that changed since alone, and refuses, changing
 * nothing, a database where a relation already holds one of its views' names (a planted
 * `private.caller_projects` would decide what every tenant sees) or a role that would own views
 * unable to see any row.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { copyMigrations, MIGRATION_NAMES } from '../helpers/migrations.ts';
import { schemaFingerprint } from '../../src/db/fingerprint.ts';
import { renderMigration } from '../../src/migrations/load.ts';
import { loadSqlParser } from '../../src/core/sql-parse.ts';
import { down, up } from '../../migrations/20261130140000_rls-caller-views.ts';

const MIGRATION = '20261130140000_rls-caller-views';

const uidDefinition = async (url: string) =>
  (await query<{ def: string; config: string[] | null }>(url, "SELECT pg_get_functiondef('auth.uid()'::regprocedure) AS def, proconfig AS config FROM pg_proc WHERE oid = 'auth.uid()'::regprocedure"))[0]!;
/** EXPLAIN VERBOSE shows the body of an inlined function, or the call of one that is not. */
const uidPlan = async (url: string) => (await query<{ 'QUERY PLAN': string }>(url, 'EXPLAIN (VERBOSE, COSTS OFF) SELECT auth.uid()')).map((r) => r['QUERY PLAN']).join('\n');
const applied = async (url: string) => (await query<{ name: string }>(url, 'SELECT name FROM dbkit.migrations ORDER BY id')).map((r) => r.name);

describe.each(testServers())('migration 20261130140000_rls-caller-views on $name', (server) => {
  const before = copyMigrations({ count: MIGRATION_NAMES.indexOf(MIGRATION) });
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'cview');
    const result = await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', before.dir], { env: cleanEnv() });
    expect(result.code, result.stderr).toBe(0);
  });
  afterEach(async () => {
    await db.drop();
  });
  afterAll(() => before.cleanup());

  const apply = () => runCli(['apply', '--db', db.url, '--no-backup'], { env: cleanEnv() });

  it("inlines dbkit's own auth.uid() once applied, and the down puts it back exactly", async () => {
    const original = await uidDefinition(db.url);
    expect(original.config).toEqual(['search_path=""']);
    expect(await uidPlan(db.url)).toMatch(/auth\.uid\(\)/);
    const result = await apply();
    expect(result.code, result.stderr).toBe(0);
    expect((await uidDefinition(db.url)).config).toBeNull();
    expect(await uidPlan(db.url)).toMatch(/current_setting\('request\.jwt\.claim\.sub'/);
    const rolled = await runCli(['rollback', '--db', db.url, '--yes', '--no-backup'], { env: cleanEnv() });
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(await uidDefinition(db.url)).toEqual(original);
  });

  it('leaves an auth.uid() that changed since it was created alone', async () => {
    await query(db.url, 'ALTER FUNCTION auth.uid() SET search_path = pg_catalog');
    const changed = await uidDefinition(db.url);
    const result = await apply();
    expect(result.code, result.stderr).toBe(0);
    expect(await uidDefinition(db.url)).toEqual(changed);
    expect((await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM dbkit.provisioned_objects WHERE name = 'auth.uid()' AND migration = $1", [MIGRATION]))[0]?.n).toBe(0);
  });

  it('refuses, changing nothing, when a relation already holds the name of one of its views', async () => {
    // a planted view: every tenant would read every project through the policies
    await query(db.url, 'CREATE VIEW private.caller_projects AS SELECT id FROM public.content_projects; GRANT SELECT ON private.caller_projects TO authenticated');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const fingerprint = await schemaFingerprint(client, { includeDbkitSchema: true });
      const result = await apply();
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('private.caller_projects already exist(s) and was not created by this migration');
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect((await schemaFingerprint(client, { includeDbkitSchema: true })).hash).toBe(fingerprint.hash);
      expect(await applied(db.url)).toEqual(MIGRATION_NAMES.slice(0, MIGRATION_NAMES.indexOf(MIGRATION)));
    } finally {
      await client.end();
    }
  });
});

describe.each(testServers())('the pre-flight of 20261130140000_rls-caller-views on $name', (server) => {
  let db: TestDatabase;
  let preflight: string;
  beforeAll(async () => {
    await loadSqlParser();
    const statements = (await renderMigration({ up, down, shorthands: undefined }, 'up')).statements;
    preflight = statements.find((s) => s.includes('neither superuser nor BYPASSRLS'))!;
    expect(preflight).toBeDefined();
    db = await createTestDatabase(server, 'cviewpf');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('refuses a role that is neither superuser nor BYPASSRLS (the views it owned would see no row), and passes an administrator', async () => {
    const role = `dbkit_cview_${randomBytes(4).toString('hex')}`;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`CREATE ROLE ${role} NOLOGIN`);
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${role}`);
      await expect(client.query(preflight)).rejects.toThrow(new RegExp(`role ${role} is neither superuser nor BYPASSRLS`));
      await client.query('ROLLBACK');
      await expect(client.query(preflight)).resolves.toBeDefined();
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      await client.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      await client.end();
    }
  });
});
