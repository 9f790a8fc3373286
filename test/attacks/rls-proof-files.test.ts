/**
 * Attack (issue 10 E/F): what rls-audit writes for people to run, and what it reads back.
 *
 * - Reproductions and the exported pgTAP suite are SQL built from names and values in the
 *   database and the tenancy map: a column named `x$1"; DROP TABLE public.victim; --` (with a
 *   newline, and a "$1" that a naive placeholder substitution would replace) and a seed value
 *   `'); DROP TABLE public.victim; --` must come out as one identifier and one literal. Every
 *   reproduction is run through psql and the suite through dbkit test; public.victim survives and
 *   the suite passes, which proves the values round-trip exactly.
 * - A --diff snapshot is untrusted input: each hostile file is refused with RLS_SNAPSHOT_INVALID
 *   and one line, before any connection is made (the --db given points at a closed port).
 */
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needsPgTap } from '../helpers/pgtap.ts';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { applySupabaseCompat } from '../helpers/migrations.ts';
import { runPsql } from '../helpers/psql.ts';
import type { AuditReport } from '../../src/commands/rls-audit.ts';
import type { TestReport } from '../../src/commands/test.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const COLUMN = 'x$1"; DROP TABLE public.victim; --\nx';
const VALUE = "'); DROP TABLE public.victim; --";
const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

const SCHEMA = `
CREATE TABLE public.victim (id int);
INSERT INTO public.victim VALUES (1);
CREATE TABLE public.owners (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id uuid NOT NULL);
CREATE TABLE public.notes (id serial PRIMARY KEY, owner_id uuid NOT NULL REFERENCES public.owners (id), ${quoted(COLUMN)} text NOT NULL, note text NOT NULL);
CREATE INDEX ON public.owners (user_id);
CREATE INDEX ON public.notes (owner_id);
ALTER TABLE public.owners ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.owners, public.notes TO authenticated, service_role;
GRANT USAGE ON SEQUENCE public.notes_id_seq TO authenticated, service_role;
CREATE POLICY owners_own ON public.owners FOR ALL TO authenticated USING (user_id = (SELECT auth.uid()));
CREATE POLICY notes_own ON public.notes FOR ALL TO authenticated USING (owner_id IN (SELECT o.id FROM public.owners o));
`;

const MAP = `export const tenancy = {
  root: { table: 'public.owners', userColumn: 'user_id' },
  tables: [{ table: 'public.notes', via: { column: 'owner_id', parent: 'public.owners' }, values: { note: ${JSON.stringify(VALUE)}, ${JSON.stringify(COLUMN)}: ${JSON.stringify(VALUE)} } }],
};
`;

describe.each(testServers())('hostile names and values in reproductions and the pgTAP export ($name)', (server) => {
  let db: TestDatabase;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-proofattack-'));

  beforeAll(async () => {
    db = await createTestDatabase(server, 'proofatk');
    await applySupabaseCompat(db.url);
    await query(db.url, SCHEMA);
    mkdirSync(path.join(dir, 'policies'));
    writeFileSync(path.join(dir, 'policies', 'map.ts'), MAP);
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every reproduction runs in psql without touching anything else, and the exported suite passes', async (context) => {
    const suite = path.join(dir, 'matrix.sql');
    const result = await runCli(['rls-audit', '--db', db.url, '--json', '--no-drift', '--policies-dir', path.join(dir, 'policies'), '--fail-on', 'never', '--export-pgtap', suite], { env: cleanEnv() });
    const report = parseJson<AuditReport>(result);
    expect(report.matrix.length).toBeGreaterThan(10);
    expect(report.matrix.filter((c) => c.verdict !== 'ok'), result.stderr).toEqual([]);
    expect(result.code).toBe(0);
    const insertOwn = report.matrix.find((c) => c.table === 'public.notes' && c.identity === 'tenant-a' && c.operation === 'insert-own')!;
    expect(insertOwn.reproduction).toContain(quoted(COLUMN));
    expect(insertOwn.reproduction).toContain(`'''); DROP TABLE public.victim; --'::text`);
    for (const cell of report.matrix) {
      const psql = await runPsql(db.url, cell.reproduction);
      expect(psql.stderr, cell.reproduction).not.toMatch(/syntax error|does not exist/);
      expect(psql.stdout).toMatch(/^ROLLBACK$/m);
      if (cell.operation === 'insert-own') expect(psql.stdout).toMatch(/^INSERT 0 1\nROLLBACK$/m);
    }
    expect(await query(db.url, 'SELECT count(*)::int AS n FROM public.victim')).toEqual([{ n: 1 }]);
    needsPgTap(context, server);
    const tested = await runCli(['test', '--db', db.url, '--json', suite], { env: cleanEnv() });
    expect(tested.code, tested.stdout + tested.stderr).toBe(0);
    expect(parseJson<TestReport>(tested).summary.passed).toBe(report.matrix.length);
    expect(await query(db.url, 'SELECT count(*)::int AS n FROM public.victim')).toEqual([{ n: 1 }]);
    expect(await query(db.url, 'SELECT (SELECT count(*) FROM public.owners)::int AS owners, (SELECT count(*) FROM public.notes)::int AS notes')).toEqual([{ owners: 0, notes: 0 }]);
  });
});

describe('hostile --diff snapshots are refused before connecting', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-badsnap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const valid = { format: 'dbkit-rls-audit-snapshot', version: 1, dbkit: '0.1.0', server: '17', database: 'db', matrixSource: null, matrixSkipped: null, cells: [], findings: [] };

  it.each([
    ['not JSON', '\u001b]0;pwned\u0007{', /not JSON/],
    ['JSON of another kind', '[1, 2, 3]', /the document: .*expected object/],
    ['a future version', JSON.stringify({ ...valid, version: 9 }), /snapshot version 9/],
    ['an extra key', JSON.stringify({ ...valid, run: 'rm -rf /' }), /run/],
    ['an escape sequence in a field', JSON.stringify({ ...valid, cells: [{ table: 't', kind: 'table', identity: 'anon\u001b[2J', operation: 'x', expected: 'deny', actual: 'deny', verdict: 'ok', detail: '' }] }), /cells\.0\.identity/],
    ['a prototype key', '{"__proto__": {"isAdmin": true}}', /format/],
    ['a directory', null, /cannot read it/],
    ['too large', undefined, /larger than 64 MB/],
  ])('%s', async (name, content, pattern) => {
    const file = path.join(dir, name.replace(/\W+/g, '_'));
    if (content === null) mkdirSync(file);
    else if (content === undefined) {
      writeFileSync(file, '{');
      truncateSync(file, 65 * 1024 * 1024);
    } else writeFileSync(file, content);
    const result = await runCli(['rls-audit', '--db', 'postgres://nobody@127.0.0.1:1/none', '--diff', file], { env: cleanEnv() });
    expect(result.code, result.stderr).toBe(ERROR_CODES.RLS_SNAPSHOT_INVALID.exit);
    const [first, ...rest] = result.stderr.trim().split('\n');
    expect(first).toMatch(/^error: .* is not a usable rls-audit snapshot: /);
    expect(first).toMatch(pattern);
    expect(rest.every((l) => l.startsWith('  hint: '))).toBe(true);
    expect(result.stderr).not.toMatch(/\u001b|\u0007| at .*\.js:\d+/);
    expect(result.stdout).toBe('');
  });
});
