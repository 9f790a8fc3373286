/**
 * Attack (issue 9.13): names taken from the database are printed into rls-audit's `fix:` lines, SQL
 * an operator pastes. A policy named `p; drop table public.x; --` once gave
 * `DROP POLICY p; drop table public.x; -- ON ...`, and a role named `user` gave `ALTER ROLE user`
 * (a syntax error; a cluster-wide BYPASSRLS role would disturb concurrent audits, so that case is
 * tested on the rule in test/unit/audit/rules.test.ts). Every name must be quoted as PostgreSQL quotes it, and a fix line run as
 * printed must touch its object and nothing else.
 *
 * Also: quoting became exact (keywords are now quoted), so the SQL that an applied migration
 * renders may change; a database applied by the earlier dbkit must not report drift for it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { applySupabaseCompat, copyMigrations } from '../helpers/migrations.ts';
import { quoteIdent } from '../../src/core/sql.ts';
import type { AuditReport } from '../../src/commands/rls-audit.ts';
import type { StatusReport } from '../../src/commands/status.ts';

const HOSTILE_POLICY = 'p; drop table public.x; --';
const HOSTILE_FUNCTION = 'f"; drop table public.x; --';

const SCHEMA = `
CREATE TABLE public.x (id int);
CREATE TABLE public."user" (id int, "Owner" uuid);
ALTER TABLE public."user" ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON public."user" TO authenticated;
GRANT INSERT ON public."user" TO anon;
CREATE POLICY "${HOSTILE_POLICY}" ON public."user" FOR INSERT TO authenticated WITH CHECK (true);
CREATE POLICY by_owner ON public."user" FOR SELECT TO authenticated USING ("Owner" = (SELECT auth.uid()));
CREATE FUNCTION public."${HOSTILE_FUNCTION.replaceAll('"', '""')}"() RETURNS int LANGUAGE sql AS 'SELECT 1';
`;

describe.each(testServers())('fix lines quote every name ($name)', (server) => {
  let db: TestDatabase;
  let report: AuditReport;
  const policiesDir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-fixq-'));

  beforeAll(async () => {
    db = await createTestDatabase(server, 'fixq');
    await applySupabaseCompat(db.url);
    await query(db.url, SCHEMA);
    // The policy by_owner is declared, so the hand-made one is "extra" and gets a DROP fix.
    writeFileSync(
      path.join(policiesDir, 'user.ts'),
      `export const policies = [{ name: 'by_owner', table: 'public.user', command: 'SELECT', permissive: true, roles: ['authenticated'], using: '"Owner" = (SELECT auth.uid())', withCheck: null, why: 'owners' }];\n`,
    );
    const result = await runCli(['rls-audit', '--db', db.url, '--json', '--no-matrix', '--policies-dir', policiesDir], { env: cleanEnv() });
    report = parseJson<AuditReport>(result);
  });

  afterAll(async () => {
    await db.drop();
    rmSync(policiesDir, { recursive: true, force: true });
  });

  const fixOf = (rule: string, object: string) => {
    const found = report.findings.find((f) => f.rule === rule && f.object === object);
    expect(found, `${rule} on ${object} in ${JSON.stringify(report.findings.map((f) => [f.rule, f.object]))}`).toBeDefined();
    return found!.fix;
  };

  it('quotes policy, table, function and column names the way PostgreSQL does (roles: test/unit/audit/rules.test.ts)', () => {
    expect(fixOf('policy-drift-extra', `public.user.${HOSTILE_POLICY}`)).toBe(`declare it in policies/ if it is intended, or DROP POLICY "${HOSTILE_POLICY}" ON public."user"`);
    expect(fixOf('policy-always-true', `public.user.${HOSTILE_POLICY}`)).toMatch(/, or DROP POLICY "p; drop table public\.x; --" ON public\."user"$/);
    expect(fixOf('anon-write-grant', 'public.user')).toBe('REVOKE INSERT ON public."user" FROM anon');
    expect(fixOf('policy-column-unindexed', 'public.user.by_owner')).toBe('CREATE INDEX ON public."user" ("Owner")');
    expect(fixOf('function-search-path-mutable', `public.${HOSTILE_FUNCTION}()`)).toBe(`ALTER FUNCTION public."f""; drop table public.x; --"() SET search_path = '' (and schema-qualify the names it uses)`);
  });

  it('a fix line run as printed, even as a multi-statement script, touches only its object', async () => {
    const drop = /DROP POLICY .*$/.exec(fixOf('policy-drift-extra', `public.user.${HOSTILE_POLICY}`))![0];
    const alterFunction = /^ALTER FUNCTION .* SET search_path = ''/.exec(fixOf('function-search-path-mutable', `public.${HOSTILE_FUNCTION}()`))![0];
    // Sent as one simple-protocol script, as psql would run a pasted line; then rolled back.
    await withAdmin(db.url, async (c) => {
      await c.query('BEGIN');
      try {
        await c.query(`${drop}; ${alterFunction}`);
        const { rows: after } = await c.query<{ policies: string[]; x: boolean; pinned: boolean }>(
          `SELECT array(SELECT polname::text FROM pg_policy WHERE polrelid = 'public."user"'::regclass ORDER BY 1) AS policies,
                  to_regclass('public.x') IS NOT NULL AS x,
                  (SELECT proconfig IS NOT NULL FROM pg_proc WHERE proname = $1) AS pinned`,
          [HOSTILE_FUNCTION],
        );
        expect(after[0]).toEqual({ policies: ['by_owner'], x: true, pinned: true });
      } finally {
        await c.query('ROLLBACK');
      }
    });
  });

  it('quoteIdent agrees with the server\'s quote_ident on every keyword and on hostile names', async () => {
    const keywords = await query<{ word: string }>(db.url, 'SELECT word FROM pg_get_keywords()');
    const names = [...keywords.map((k) => k.word), 'user', 'Mine', '1st', 'a$b', 'a b', HOSTILE_POLICY, HOSTILE_FUNCTION, 'contents', '_x'];
    const server = await query<{ q: string }>(db.url, 'SELECT quote_ident(n) AS q FROM unnest($1::text[]) WITH ORDINALITY AS t(n, i) ORDER BY i', [names]);
    expect(names.map(quoteIdent)).toEqual(server.map((r) => r.q));
  });
});

// The golden checksum below is what dbkit 0.1 (before the quoting change) recorded for this
// migration: computed by running that version's loadMigrations on this exact file.
const KEYWORD_MIGRATION = `import type { MigrationBuilder } from 'node-pg-migrate';
import { change, ensureLedger, ident, qname, relationAbsent, undoChanges } from './support/provision.ts';

const MIGRATION = '20260101000000_keyword-names';

export const up = (pgm: MigrationBuilder): void => {
  ensureLedger(pgm);
  change(pgm, MIGRATION, {
    kind: 'table',
    name: 'public.user',
    when: relationAbsent('public.user'),
    apply: \`CREATE TABLE \${qname('public.user')} (id int, \${ident('position')} int, \${ident('Label')} text)\`,
    undo: { sql: \`DROP TABLE \${qname('public.user')}\` },
  });
};

export const down = (pgm: MigrationBuilder): void => {
  undoChanges(pgm, MIGRATION);
};
`;
const CHECKSUM_RECORDED_BY_DBKIT_0_1 = 'c770a8c161c784ad5e3655a03dffaa4edc5a13614a0841770a937c4971b026ef';

describe.each(testServers())('exact quoting does not turn applied migrations into drift ($name)', (server) => {
  let db: TestDatabase;
  const set = copyMigrations({ count: 0 });
  set.add('20260101000000_keyword-names', KEYWORD_MIGRATION);

  beforeAll(async () => {
    db = await createTestDatabase(server, 'qdrift');
    const applied = await runCli(['apply', '--db', db.url, '--no-backup', '--migrations-dir', set.dir], { env: cleanEnv() });
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await db.drop();
    set.cleanup();
  });

  const status = async () => {
    const result = await runCli(['status', '--db', db.url, '--json', '--migrations-dir', set.dir], { env: cleanEnv() });
    return parseJson<StatusReport>(result);
  };

  it('renders differently now (the keywords are quoted), so the checksums really differ', async () => {
    const [row] = await query<{ sql_checksum: string }>(db.url, `SELECT sql_checksum FROM dbkit.migration_checksums WHERE name = '20260101000000_keyword-names'`);
    expect(row?.sql_checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.sql_checksum).not.toBe(CHECKSUM_RECORDED_BY_DBKIT_0_1);
    const [table] = await query<{ cols: string[] }>(db.url, `SELECT array(SELECT attname::text FROM pg_attribute WHERE attrelid = 'public."user"'::regclass AND attnum > 0 ORDER BY attnum) AS cols`);
    expect(table?.cols).toEqual(['id', 'position', 'Label']);
  });

  it('a database whose checksum was recorded by dbkit 0.1 reports no drift', async () => {
    await query(db.url, `UPDATE dbkit.migration_checksums SET sql_checksum = $1 WHERE name = '20260101000000_keyword-names'`, [CHECKSUM_RECORDED_BY_DBKIT_0_1]);
    const report = await status();
    expect(report.drift).toEqual([]);
    expect(report.error).toBeNull();
  });

  it('while any other change of the SQL is still drift', async () => {
    await query(db.url, `UPDATE dbkit.migration_checksums SET sql_checksum = $1 WHERE name = '20260101000000_keyword-names'`, ['0'.repeat(64)]);
    const report = await status();
    expect(report.drift.map((d) => [d.name, d.kind])).toEqual([['20260101000000_keyword-names', 'sql-changed']]);
  });
});
