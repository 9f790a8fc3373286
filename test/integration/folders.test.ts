/**
 * Migration folders as node-pg-migrate reads them: files that are not migrations (its ignore
 * pattern), SQL migrations, downs it infers, and migrations without a down, which apply but stop
 * a rollback before any change with the backup to restore instead.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, testServers, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, describeDiff, fingerprint } from '../helpers/schema.ts';
import { scratchFolder, type ScratchFolder } from '../helpers/folders.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';

const INFERRED = "exports.up = (pgm) => { pgm.createTable('widgets', { id: 'id', name: { type: 'text', notNull: true } }); pgm.createIndex('widgets', 'name'); };\n";
const SQL = '-- Up Migration\nCREATE TABLE gadgets (id int PRIMARY KEY);\n-- Down Migration\nDROP TABLE gadgets;\n';
const RAW_NO_DOWN = "exports.up = (pgm) => { pgm.sql('CREATE TABLE raw_things (id int)'); };\n";

describe.each(testServers())('migration folders as node-pg-migrate reads them, on $name', (server) => {
  let db: TestDatabase;
  let folder: ScratchFolder;
  let env: Record<string, string | undefined>;
  const dbkit = (args: string[]) => runCli([...args, '--db', db.url, '--migrations-dir', folder.dir], { cwd: folder.root, env });
  beforeEach(async () => {
    db = await createTestDatabase(server, 'dir');
    env = cleanEnv();
  });
  afterEach(async () => {
    folder.cleanup();
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
    await db.drop();
  });

  it('refuses a file outside the ignore pattern that it cannot run, naming the setting; runs the folder once the pattern excludes it', async () => {
    folder = scratchFolder({ '1_widgets.js': INFERRED, '2_gadgets.sql': SQL, 'package.json': '{}', '.eslintrc.js': 'module.exports = {};' });
    const refused = await dbkit(['apply', '--no-backup']);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain('package.json: not a migration dbkit can run (.json; migrations are .ts, .js or .sql) and not matched by the ignore pattern \\..*');
    expect(refused.stderr).toContain('--ignore-pattern <regex> (DBKIT_IGNORE_PATTERN, or ignorePattern in dbkit.config.json');
    expect(await appliedNames(db.url)).toEqual([]);
    // From the config file, as a team would write it once.
    writeFileSync(path.join(folder.root, 'dbkit.config.json'), JSON.stringify({ ignorePattern: '(\\..*|package\\.json)' }));
    const applied = await dbkit(['apply', '--no-backup']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await appliedNames(db.url)).toEqual(['1_widgets', '2_gadgets']);
  });

  it('reverts a migration without a down through the down node-pg-migrate infers, and a SQL migration through its down section', async () => {
    folder = scratchFolder({ '1_widgets.js': INFERRED, '2_gadgets.sql': SQL });
    const empty = await fingerprint(db.url);
    expect((await dbkit(['apply', '--no-backup'])).code).toBe(0);
    const rollback = await dbkit(['rollback', '--all', '--yes', '--no-backup']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await appliedNames(db.url)).toEqual([]);
    const after = await fingerprint(db.url);
    expect(after.hash, describeDiff(empty, after)).toBe(empty.hash);
  });

  it('applies migrations without a usable down, and refuses a rollback across them before any change, naming the backup taken before', async () => {
    folder = scratchFolder({
      '1_widgets.js': INFERRED,
      '2_raw.js': RAW_NO_DOWN,
      '3_declared.js': "exports.up = (pgm) => { pgm.sql('CREATE TABLE declared (id int)'); };\nexports.down = false;\n",
      '4_after.js': "exports.up = (pgm) => { pgm.createTable('after_things', { id: 'id' }); };\n",
    });
    const first = parseJson<ApplyReport>(await dbkit(['apply', '--json', '--migrations-dir', folder.dir]));
    expect(first.migrations.map((m) => m.status)).toEqual(['applied', 'applied', 'applied', 'applied']);
    const backupId = first.backup!.id;
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    const refused = await dbkit(['rollback', '--all', '--yes']);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain(
      'cannot revert 3_declared (declared irreversible: export const down = false), 2_raw (it has no down, and node-pg-migrate cannot infer one: its up makes a call without an inverse (such as pgm.sql()) or reads pgm.db): rollback has no down to run',
    );
    expect(refused.stderr).toContain(`hint: restore the verified backup taken before 2_raw was applied: dbkit restore ${backupId} (into a new database; add --in-place to replace this one); or revert only what came after it: dbkit rollback --to 3_declared. Nothing was changed.`);
    const after = await fingerprint(db.url, { includeDbkitSchema: true });
    expect(after.hash, describeDiff(before, after)).toBe(before.hash);
    // What comes after them still rolls back.
    const partial = await dbkit(['rollback', '--to', '3_declared', '--yes', '--no-backup']);
    expect(partial.code, partial.stderr).toBe(0);
    expect(await appliedNames(db.url)).toEqual(['1_widgets', '2_raw', '3_declared']);
  });
});
