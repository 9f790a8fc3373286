/**
 * A database migrated by the real node-pg-migrate CLI, taken over by dbkit: status shows what the
 * CLI applied as adopted, apply records it and applies the rest, rollback reverts adopted and
 * dbkit-applied migrations alike, and node-pg-migrate's table stays in step so the team can go
 * back to the plain tool. A second database, migrated by the plain tool only, takes the same
 * steps; the schemas must match at every one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, describeDiff, fingerprint } from '../helpers/schema.ts';
import { scratchFolder, type ScratchFolder } from '../helpers/folders.ts';
import { nodePgMigrate } from '../helpers/plain-tools.ts';
import type { StatusReport } from '../../src/commands/status.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';
import type { RollbackReport } from '../../src/commands/rollback.ts';

/** A node-pg-migrate folder as teams have them: JS and TS, SQL, an inferred down, CONCURRENTLY, and files that are not migrations. */
const FILES: Record<string, string> = {
  'package.json': '{ "type": "commonjs" }\n',
  '.eslintrc.js': 'module.exports = {};\n',
  '1700000000000_accounts.js': `exports.up = (pgm) => {
  pgm.createTable('accounts', { id: 'id', email: { type: 'text', notNull: true, unique: true }, created_at: { type: 'timestamptz', notNull: true, default: pgm.func('now()') } });
};
exports.down = (pgm) => { pgm.dropTable('accounts'); };
`,
  // No down: node-pg-migrate infers it.
  '1700000000001_projects.ts': `import type { MigrationBuilder } from 'node-pg-migrate';
export const up = (pgm: MigrationBuilder) => {
  pgm.createTable('projects', { id: 'id', account_id: { type: 'integer', notNull: true, references: 'accounts', onDelete: 'CASCADE' }, title: { type: 'text', notNull: true } });
  pgm.addColumns('accounts', { plan: { type: 'text', notNull: true, default: 'free' } });
};
`,
  '1700000000002_tasks.sql': `-- Up Migration
CREATE TABLE tasks (id serial PRIMARY KEY, project_id integer NOT NULL REFERENCES projects(id), body text, done boolean NOT NULL DEFAULT false);
CREATE FUNCTION tasks_open(p integer) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM tasks WHERE project_id = p AND NOT done; $$;

-- Down Migration
DROP FUNCTION tasks_open(integer);
DROP TABLE tasks;
`,
  '1700000000003_tasks_index.js': `exports.up = (pgm) => { pgm.noTransaction(); pgm.createIndex('tasks', 'project_id', { concurrently: true, name: 'tasks_project_idx' }); };
exports.down = (pgm) => { pgm.noTransaction(); pgm.dropIndex('tasks', 'project_id', { concurrently: true, name: 'tasks_project_idx' }); };
`,
  '1700000000004_labels.js': `exports.up = (pgm) => {
  pgm.createType('label_color', ['red', 'green']);
  pgm.createTable('labels', { id: 'id', color: { type: 'label_color', notNull: true } });
};
`,
};

const IGNORE = '(\\..*|package\\.json)';

const pgmigrations = async (url: string) => (await query<{ name: string }>(url, 'SELECT name FROM public.pgmigrations ORDER BY run_on, id')).map((r) => r.name);

describe.each(testServers())('adopting a database the node-pg-migrate CLI migrated, on $name', (server) => {
  let folder: ScratchFolder;
  let plain: TestDatabase;
  let adopted: TestDatabase;
  const dbkit = (args: string[]) => runCli([...args, '--db', adopted.url, '--migrations-dir', folder.dir, '--ignore-pattern', IGNORE], { cwd: folder.root });
  const plainTool = (db: TestDatabase, args: string[]) => nodePgMigrate(db.url, [...args, '--migrations-dir', folder.dir, '--ignore-pattern', IGNORE], folder.root);

  async function expectSameSchema(step: string): Promise<void> {
    const [a, b] = [await fingerprint(plain.url), await fingerprint(adopted.url)];
    expect(b.hash, `${step}:\n${describeDiff(a, b)}`).toBe(a.hash);
    expect(await pgmigrations(adopted.url), step).toEqual(await pgmigrations(plain.url));
  }

  beforeAll(async () => {
    folder = scratchFolder(FILES);
    plain = await createTestDatabase(server, 'npm');
    adopted = await createTestDatabase(server, 'npm');
    for (const db of [plain, adopted]) {
      const up = await plainTool(db, ['up', '3']);
      expect(up.code, up.output).toBe(0);
    }
  });
  afterAll(async () => {
    folder.cleanup();
    await plain.drop();
    await adopted.drop();
  });

  it('status: what the CLI applied shows as applied and adopted, the rest as pending; nothing changes', async () => {
    const result = await dbkit(['status', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<StatusReport>(result);
    expect(report.history).toBe('public.pgmigrations');
    expect(report.applied.map((a) => [a.name, a.adopted])).toEqual([
      ['1700000000000_accounts', { from: 'public.pgmigrations', recorded: false }],
      ['1700000000001_projects', { from: 'public.pgmigrations', recorded: false }],
      ['1700000000002_tasks', { from: 'public.pgmigrations', recorded: false }],
    ]);
    expect(report.pending).toEqual(['1700000000003_tasks_index', '1700000000004_labels']);
    const human = await dbkit(['status']);
    expect(human.stdout).toContain('3 applied (3 adopted), 2 pending; history kept in step with public.pgmigrations');
    expect(await appliedNames(adopted.url)).toEqual([]);
    await expectSameSchema('after status');
  });

  it('apply: records the adopted migrations first (checksum, marked adopted), applies only the rest, and writes the CLI\'s history too', async () => {
    const result = await dbkit(['apply', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<ApplyReport>(result);
    expect(report.adopted).toEqual(['1700000000000_accounts', '1700000000001_projects', '1700000000002_tasks']);
    expect(report.migrations.map((m) => [m.name, m.status])).toEqual([
      ['1700000000003_tasks_index', 'applied'],
      ['1700000000004_labels', 'applied'],
    ]);
    expect(report.backup?.verified).toBe(true);
    const up = await plainTool(plain, ['up']);
    expect(up.code, up.output).toBe(0);
    await expectSameSchema('after apply');
    expect(await appliedNames(adopted.url)).toEqual(await pgmigrations(adopted.url));
    const marks = await query<{ name: string; adopted_from: string | null; file_checksum: string }>(adopted.url, 'SELECT name, adopted_from, file_checksum FROM dbkit.migration_checksums ORDER BY name');
    expect(marks.map((m) => [m.name, m.adopted_from])).toEqual([
      ['1700000000000_accounts', 'public.pgmigrations'],
      ['1700000000001_projects', 'public.pgmigrations'],
      ['1700000000002_tasks', 'public.pgmigrations'],
      ['1700000000003_tasks_index', null],
      ['1700000000004_labels', null],
    ]);
    expect(marks.every((m) => /^[0-9a-f]{64}$/.test(m.file_checksum))).toBe(true);
    const status = parseJson<StatusReport>(await dbkit(['status', '--json']));
    expect(status.applied.filter((a) => a.adopted?.recorded).map((a) => a.name)).toHaveLength(3);
    expect(status.pending).toEqual([]);
  });

  it('rollback: reverts dbkit-applied and adopted migrations (inferred, SQL and CONCURRENTLY downs) exactly as the CLI\'s down does', async () => {
    const result = await dbkit(['rollback', '--count', '4', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(parseJson<RollbackReport>(result).migrations.map((m) => m.status)).toEqual(['reverted', 'reverted', 'reverted', 'reverted']);
    const down = await plainTool(plain, ['down', '4']);
    expect(down.code, down.output).toBe(0);
    await expectSameSchema('after rollback --count 4');
    expect(await pgmigrations(adopted.url)).toEqual(['1700000000000_accounts']);
  });

  it('apply again: back to the plain tool\'s schema and history', async () => {
    const result = await dbkit(['apply']);
    expect(result.code, result.stderr).toBe(0);
    const up = await plainTool(plain, ['up']);
    expect(up.code, up.output).toBe(0);
    await expectSameSchema('after the second apply');
  });

  it('the team can go back to the plain tool: it finds nothing to run, and its down works on the history dbkit kept', async () => {
    const up = await plainTool(adopted, ['up']);
    expect(up.code, up.output).toBe(0);
    expect(up.output).toContain('No migrations to run!');
    for (const db of [adopted, plain]) {
      const down = await plainTool(db, ['down']);
      expect(down.code, down.output).toBe(0);
    }
    await expectSameSchema('after the plain tool reverted one');
    // dbkit now disagrees with the history it keeps, and says so instead of guessing.
    const status = await dbkit(['status']);
    expect(status.code).toBe(28);
    expect(status.stderr).toContain("1700000000004_labels: applied according to dbkit's tracking but not according to public.pgmigrations");
    const apply = await dbkit(['apply']);
    expect(apply.code).toBe(28);
  });
});

describe.each(testServers())('what adoption refuses, on $name', (server) => {
  it('a history entry with no file, and a pending file that sorts before an applied one, naming both; nothing changes', async () => {
    const folder = scratchFolder(FILES);
    const db = await createTestDatabase(server, 'npm');
    const dbkit = (args: string[]) => runCli([...args, '--db', db.url, '--migrations-dir', folder.dir, '--ignore-pattern', IGNORE], { cwd: folder.root });
    try {
      expect((await nodePgMigrate(db.url, ['up', '2', '--migrations-dir', folder.dir, '--ignore-pattern', IGNORE], folder.root)).code).toBe(0);
      const before = await fingerprint(db.url, { includeDbkitSchema: true });
      folder.remove('1700000000001_projects.ts');
      const missing = await dbkit(['apply']);
      expect(missing.code).toBe(8);
      expect(missing.stderr).toContain('1700000000001_projects: recorded as applied in public.pgmigrations but has no migration file');
      folder.write('1700000000001_projects.ts', FILES['1700000000001_projects.ts']!);
      folder.write('1699999999999_early.js', "exports.up = (pgm) => { pgm.sql('SELECT 1'); };\nexports.down = () => {};\n");
      const early = await dbkit(['apply']);
      expect(early.code).toBe(7);
      expect(early.stderr).toContain('pending migration 1699999999999_early (before 1700000000000_accounts) sorts before a migration already applied');
      const after = await fingerprint(db.url, { includeDbkitSchema: true });
      expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    } finally {
      folder.cleanup();
      await db.drop();
    }
  });
});
