/**
 * Attacks on the rehearsal's promise that the target is left alone: a migration that reaches out
 * of the copy (to the real database, the server's configuration or its roles), and hostile names.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { fixtureSubset, leftoverCopies } from '../helpers/rehearse.ts';
import type { RehearseReport } from '../../src/rehearse/rehearse.ts';

describe.each(testServers())('rehearsal isolation on $name', (server) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'rhatk');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('drops only the roles its own statements created: a role another session creates meanwhile survives', async () => {
    // Found while merging: the rehearsal dropped every role that appeared on the server while it
    // ran (if nothing depended on it), including an application's own.
    const own = `dbkit_rh_own_${db.name.slice(-8)}`;
    const theirs = `dbkit_rh_theirs_${db.name.slice(-8)}`;
    const set = fixtureSubset([], {
      '001_slow.ts': "export const up = (pgm: any) => { pgm.sql('SELECT pg_sleep(4)'); };\nexport const down = () => {};\n",
      '002_role.ts': `export const up = (pgm: any) => { pgm.sql('CREATE ROLE ${own} NOLOGIN'); };\nexport const down = (pgm: any) => { pgm.sql('DROP ROLE ${own}'); };\n`,
    });
    try {
      const rehearsal = runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--json'], { env: cleanEnv() });
      // While the copy is being migrated (the first migration sleeps), another session creates a role.
      let created = false;
      for (let i = 0; i < 100 && !created; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const copies = await leftoverCopies(server.adminUrl, db.name);
        if (copies.length > 0) {
          await withAdmin(server.adminUrl, (c) => c.query(`CREATE ROLE ${theirs} NOLOGIN`));
          created = true;
        }
      }
      expect(created).toBe(true);
      const result = await rehearsal;
      expect(result.code, result.stderr).toBe(0);
      const report = parseJson<RehearseReport>(result);
      expect(report.ranOn).toMatchObject({ kind: 'copy', copy: { dropped: true, rolesCreated: [own], rolesDropped: [own], rolesOther: [theirs] } });
      expect(await query(server.adminUrl, 'SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1', [[own, theirs]])).toEqual([{ rolname: theirs }]);
    } finally {
      set.cleanup();
      await withAdmin(server.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${theirs}`));
    }
  });

  it('does not run DROP DATABASE of the target from the copy (a noTransaction migration)', async () => {
    const set = fixtureSubset([], {
      '001_escape.ts': `export const up = (pgm: any) => { pgm.noTransaction(); pgm.sql('DROP DATABASE ${db.name}'); };\nexport const down = () => {};\n`,
    });
    try {
      const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--json'], { env: cleanEnv() });
      expect(result.code, result.stderr).toBe(51);
      const report = parseJson<RehearseReport>(result);
      expect(report.migrations[0]!.error).toMatch(/statement 1 \(DROP DATABASE\) acts on the whole server/);
      expect(await query(server.adminUrl, 'SELECT datname FROM pg_database WHERE datname = $1', [db.name])).toEqual([{ datname: db.name }]);
      expect(await leftoverCopies(server.adminUrl, db.name)).toEqual([]);
    } finally {
      set.cleanup();
    }
  });

  it('does not run ALTER SYSTEM or ALTER ROLE of an existing role from the copy', async () => {
    const set = fixtureSubset([], {
      '001_system.ts': "export const up = (pgm: any) => { pgm.noTransaction(); pgm.sql('ALTER SYSTEM SET work_mem = 12345'); };\nexport const down = () => {};\n",
    });
    const roleSet = fixtureSubset([], { '001_role.ts': "export const up = (pgm: any) => { pgm.sql('ALTER ROLE postgres CONNECTION LIMIT 3'); };\nexport const down = () => {};\n" });
    try {
      for (const dir of [set.dir, roleSet.dir]) {
        const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', dir, '--json'], { env: cleanEnv() });
        expect(result.code, result.stderr).toBe(51);
        expect(parseJson<RehearseReport>(result).migrations[0]!.error).toMatch(/\((ALTER SYSTEM|ALTER ROLE)\) acts on the whole server/);
      }
      expect(await query(server.adminUrl, "SELECT count(*)::int AS n FROM pg_file_settings WHERE name = 'work_mem' AND setting = '12345'")).toEqual([{ n: 0 }]);
      expect(await query(server.adminUrl, "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'postgres'")).toEqual([{ rolconnlimit: -1 }]);
    } finally {
      set.cleanup();
      roleSet.cleanup();
    }
  });

  it('--traffic on a table whose name needs quoting neither breaks nor injects', async () => {
    const set = fixtureSubset([], {
      '001_table.ts': `export const up = (pgm: any) => { pgm.sql('CREATE TABLE public."we""ird; DROP TABLE x" (id int PRIMARY KEY, v int)'); pgm.sql('INSERT INTO public."we""ird; DROP TABLE x" SELECT g, g FROM generate_series(1, 100) g'); };\nexport const down = (pgm: any) => { pgm.sql('DROP TABLE public."we""ird; DROP TABLE x"'); };\n`,
      '002_alter.ts': `export const up = (pgm: any) => { pgm.sql('ALTER TABLE public."we""ird; DROP TABLE x" ADD COLUMN w int DEFAULT 1'); };\nexport const down = (pgm: any) => { pgm.sql('ALTER TABLE public."we""ird; DROP TABLE x" DROP COLUMN w'); };\n`,
    });
    try {
      const applied = await runCli(['apply', '--db', db.url, '--migrations-dir', set.dir, '--no-backup', '--json'], { env: cleanEnv() });
      expect(applied.code, applied.stderr).toBe(0);
      await query(db.url, "DELETE FROM dbkit.migrations WHERE name = '002_alter'");
      await query(db.url, 'ALTER TABLE public."we""ird; DROP TABLE x" DROP COLUMN w');
      const result = await runCli(['rehearse', '--db', db.url, '--migrations-dir', set.dir, '--traffic', '--json'], { env: cleanEnv() });
      expect(result.code, result.stderr).toBe(0);
      const report = parseJson<RehearseReport>(result);
      expect(report.migrations[0]!.summary[0]).toMatch(/^ACCESS EXCLUSIVE on public\.we"ird; DROP TABLE x for .*; writers stalled .*, readers /);
      expect(report.migrations[0]!.traffic?.map((t) => [t.table, t.notes])).toEqual([['public.we"ird; DROP TABLE x', []]]);
      expect(await query(db.url, 'SELECT count(*)::int AS n FROM public."we""ird; DROP TABLE x"')).toEqual([{ n: 100 }]);
    } finally {
      set.cleanup();
    }
  });
});
