/**
 * Attack (issue 9.3): a policies/*.ts declaration whose USING closes the CREATE POLICY and adds
 * statements of its own. The drift check sent it as a simple-protocol query, so its COMMIT ended
 * the "rolled back" transaction and the DROP TABLE stayed for good. The same text reached
 * migrations through createPolicySql. Now: the declaration is refused before anything is sent,
 * every declaration goes out as exactly one statement (extended protocol), and a migration that
 * builds such a policy fails its pre-flight.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { applySupabaseCompat, copyMigrations } from '../helpers/migrations.ts';
import { normaliseDeclarations } from '../../src/audit/normalise.ts';
import { queryOne } from '../../src/db/statement.ts';
import type { PolicyDefinition } from '../../src/core/policy.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const INJECTION = 'true); COMMIT; DROP TABLE public.x; CREATE POLICY zz ON public.t USING (true';

const hostile: PolicyDefinition = { name: 't_read', table: 'public.t', command: 'SELECT', permissive: true, roles: ['authenticated'], using: INJECTION, withCheck: null, why: 'attack' };
const declaration = (p: PolicyDefinition) => `export const policies = [${JSON.stringify(p)}];\n`;

describe.each(testServers())('policy text cannot run statements of its own ($name)', (server) => {
  let db: TestDatabase;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-inject-'));

  const state = async () => {
    const [row] = await query<{ x: boolean; zz: number; committed: number }>(
      db.url,
      `SELECT to_regclass('public.x') IS NOT NULL AS x,
              (SELECT count(*)::int FROM pg_policy WHERE polname = 'zz') AS zz,
              (SELECT count(*)::int FROM pg_class WHERE relname LIKE 'dbkit_drift%') AS committed`,
    );
    return row;
  };

  beforeAll(async () => {
    db = await createTestDatabase(server, 'inject');
    await applySupabaseCompat(db.url);
    await query(db.url, 'CREATE TABLE public.x (id int); CREATE TABLE public.t (id int); ALTER TABLE public.t ENABLE ROW LEVEL SECURITY');
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rls-audit refuses the declaration, naming it, before sending anything', async () => {
    writeFileSync(path.join(dir, 'hostile.ts'), declaration(hostile));
    const result = await runCli(['rls-audit', '--db', db.url, '--no-matrix', '--policies-dir', dir], { env: cleanEnv() });
    expect(result.code).toBe(ERROR_CODES.USAGE.exit);
    expect(result.stderr).toMatch(/hostile\.ts declares invalid policies: policies\[0\]: policy t_read on public\.t: its text makes 4 SQL statements, not one CREATE POLICY/);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(await state()).toEqual({ x: true, zz: 0, committed: 0 });
  });

  it('a declaration that adds a clause (USING that also writes WITH CHECK) is refused too', async () => {
    writeFileSync(path.join(dir, 'hostile.ts'), declaration({ ...hostile, using: 'true) WITH CHECK (true' }));
    const result = await runCli(['rls-audit', '--db', db.url, '--no-matrix', '--policies-dir', dir], { env: cleanEnv() });
    expect(result.code).toBe(ERROR_CODES.USAGE.exit);
    expect(result.stderr).toMatch(/parses as a CREATE POLICY with a different WITH CHECK/);
  });

  it('a declaration that is not a policy is refused by its schema, every problem at once', async () => {
    writeFileSync(path.join(dir, 'hostile.ts'), `export const policies = [${JSON.stringify({ ...hostile, using: 'true', table: 'contents', command: 'MERGE', sql: 'DROP TABLE public.x' })}];\n`);
    const result = await runCli(['rls-audit', '--db', db.url, '--no-matrix', '--policies-dir', dir], { env: cleanEnv() });
    expect(result.code).toBe(ERROR_CODES.USAGE.exit);
    expect(result.stderr).toMatch(/hostile\.ts declares invalid policies: policies\[0\]: .*table must be schema-qualified/);
    expect(result.stderr).toMatch(/command Invalid option/);
    expect(result.stderr).toMatch(/Unrecognized key: "sql"/);
    expect(await state()).toEqual({ x: true, zz: 0, committed: 0 });
  });

  it('the drift round-trip itself sends one statement at a time and rolls everything back', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const [out] = await normaliseDeclarations(client, [{ policy: hostile, file: 'hostile.ts' }]);
      expect(out?.error).toMatch(/its text makes 4 SQL statements/);
      // The sender refuses a text of several statements outright.
      await expect(queryOne(client, 'SELECT 1; DROP TABLE public.x')).rejects.toMatchObject({ code: '42601' });
      const [good] = await normaliseDeclarations(client, [{ policy: { ...hostile, using: 'id > 0' }, file: 'ok.ts' }]);
      expect(good).toMatchObject({ error: null, using: '(id > 0)' });
    } finally {
      await client.end();
    }
    expect(await state()).toEqual({ x: true, zz: 0, committed: 0 });
  });

  it('a migration that builds the policy from such a declaration fails its pre-flight, changing nothing', async () => {
    const set = copyMigrations({ count: 0 });
    try {
      writeFileSync(path.join(set.root, 'policies', 'hostile.ts'), declaration(hostile));
      set.add(
        '20260101000000_hostile-policy',
        `import type { MigrationBuilder } from 'node-pg-migrate';
import { createPolicySql, dropPolicySql } from 'dbkit/migrate';
import { policies } from '../policies/hostile.ts';
export const up = (pgm: MigrationBuilder): void => { for (const p of policies) pgm.sql(createPolicySql(p)); };
export const down = (pgm: MigrationBuilder): void => { for (const p of policies) pgm.sql(dropPolicySql(p)); };
`,
      );
      const result = await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', set.dir], { env: cleanEnv() });
      expect(result.code).toBe(ERROR_CODES.PREFLIGHT_FAILED.exit);
      expect(result.stderr).toMatch(/20260101000000_hostile-policy\.ts fails while building its SQL: policy t_read on public\.t: its text makes 4 SQL statements/);
      const applied = await query<{ name: string }>(db.url, `SELECT name FROM dbkit.migrations WHERE name LIKE '%hostile%'`);
      expect(applied).toEqual([]);
      expect(await state()).toEqual({ x: true, zz: 0, committed: 0 });
    } finally {
      set.cleanup();
    }
  });
});
