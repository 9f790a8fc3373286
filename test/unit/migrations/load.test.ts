import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationBuilder } from 'node-pg-migrate';
import { checksumText, listMigrationFiles, readMigrationFolder } from '../../../src/migrations/files.ts';
import { loadMigrationModule, loadMigrations, OfflineQueryError, renderMigration, sqlChecksumOf, type LoadedMigration, type MigrationModule } from '../../../src/migrations/load.ts';
import { createPolicySql, dropPolicySql } from '../../../src/core/policy.ts';
import { DbkitError } from '../../../src/errors.ts';
import { lit } from '../../../migrations/support/provision.ts';
import { policies } from '../../../policies/creatoros.ts';
import { policies as attributionPolicies } from '../../../policies/creatoros-attribution.ts';
import { policies as callerViewPolicies, supersedes } from '../../../policies/creatoros-caller-views.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const MIGRATIONS_DIR = path.join(ROOT, 'migrations');
const NAMES = ['20251028110000_supabase-compat', '20251028115000_creatoros-baseline', '20251028120000_mind-attribution', '20251028120001_kiss-rls', '20261130120000_same-tenant-references', '20261130140000_rls-caller-views'];

const undoOf = (name: string) => `DO $dbkit$
DECLARE r record;
BEGIN
  FOR r IN SELECT id, undo_sql FROM dbkit.provisioned_objects WHERE migration = '${name}' ORDER BY id DESC LOOP
    EXECUTE r.undo_sql;
    DELETE FROM dbkit.provisioned_objects WHERE id = r.id;
  END LOOP;
END
$dbkit$;`;

describe('the CreatorOS migrations, rendered offline', () => {
  let migrations: LoadedMigration[];
  beforeAll(async () => {
    migrations = await loadMigrations(listMigrationFiles(MIGRATIONS_DIR, ROOT), ROOT);
  });

  it('load in order, each with an up and a real down', () => {
    expect(migrations.map((m) => m.name)).toEqual(NAMES);
    for (const m of migrations) {
      expect(typeof m.module.up).toBe('function');
      expect(typeof m.module.down).toBe('function');
    }
  });

  it('render up without a database, in one transaction, starting with the undo ledger', async () => {
    for (const m of migrations) {
      const up = await renderMigration(m.module, 'up');
      expect(up.transactional).toBe(true);
      expect(up.statements.length).toBeGreaterThan(1);
      expect(up.statements[0]).toMatch(/^CREATE SCHEMA IF NOT EXISTS dbkit;\nREVOKE ALL ON SCHEMA dbkit FROM PUBLIC;\nCREATE TABLE IF NOT EXISTS dbkit\.provisioned_objects \(/);
      // every change records its undo in the same statement as the change
      for (const statement of up.statements.slice(1).filter((s) => s.startsWith('DO $dbkit$'))) {
        expect(statement).toContain(`INSERT INTO dbkit.provisioned_objects (migration, kind, name, undo_sql) VALUES ('${m.name}', `);
      }
    }
  });

  it('render down as a replay of the migration’s own ledger', async () => {
    for (const m of migrations) {
      expect(await renderMigration(m.module, 'down')).toEqual({ statements: [undoOf(m.name)], transactional: true });
    }
  });

  it('create every declared policy from policies/, with exactly the SQL createPolicySql builds', async () => {
    const rls = migrations.find((m) => m.name === '20251028120001_kiss-rls')!;
    const sql = (await renderMigration(rls.module, 'up')).statements.join('\n');
    expect(policies).toHaveLength(8);
    for (const p of policies) expect(sql).toContain(`EXECUTE ${lit(createPolicySql(p))};`);
    expect(sql.match(/EXECUTE 'CREATE POLICY /g)).toHaveLength(policies.length);
    const references = migrations.find((m) => m.name === '20261130120000_same-tenant-references')!;
    const later = (await renderMigration(references.module, 'up')).statements.join('\n');
    expect(attributionPolicies).toHaveLength(2);
    for (const p of attributionPolicies) expect(later).toContain(`EXECUTE ${lit(createPolicySql(p))};`);
    // the caller-views migration recreates the nine tenant and attribution policies under their names
    const views = migrations.find((m) => m.name === '20261130140000_rls-caller-views')!;
    const latest = (await renderMigration(views.module, 'up')).statements.join('\n');
    expect(callerViewPolicies).toHaveLength(9);
    for (const p of callerViewPolicies) expect(latest).toContain(`EXECUTE ${lit(`${dropPolicySql(p)}; ${createPolicySql(p)}`)};`);
    expect(latest.match(/EXECUTE 'DROP POLICY IF EXISTS [^;]+; CREATE POLICY /g)).toHaveLength(callerViewPolicies.length);
    expect([...supersedes].sort()).toEqual([...policies.filter((p) => p.table !== 'public.minds'), ...attributionPolicies].map((p) => `${p.table}.${p.name}`).sort());
  });

  it('have an SQL checksum: sha256 of up, a marker and down, the same on every render', async () => {
    for (const m of migrations) {
      const up = await renderMigration(m.module, 'up');
      const down = await renderMigration(m.module, 'down');
      expect(m.sqlChecksum).toBe(checksumText(`${up.statements.join('\n')}\n-- down --\n${down.statements.join('\n')}`));
      expect(await sqlChecksumOf(m.module)).toBe(m.sqlChecksum);
    }
    expect(new Set(migrations.map((m) => m.sqlChecksum)).size).toBe(NAMES.length);
  });
});

describe('renderMigration and sqlChecksumOf on hand-made modules', () => {
  const reads: MigrationModule = {
    up: async (pgm: MigrationBuilder) => {
      const rows = await pgm.db.select('SELECT 1 AS n');
      pgm.sql(`SELECT ${rows.length}`);
    },
    down: (pgm) => pgm.sql('SELECT 0'),
    shorthands: undefined,
  };

  it('refuses to build a migration that queries pgm.db offline', async () => {
    await expect(renderMigration(reads, 'up')).rejects.toBeInstanceOf(OfflineQueryError);
  });

  it('gives such a migration a null SQL checksum (its SQL depends on the database)', async () => {
    expect(await sqlChecksumOf(reads)).toBeNull();
  });

  it('builds it against a database given for planning', async () => {
    const db = { query: async () => ({ rows: [] }), select: async () => [{ n: 1 }, { n: 2 }] };
    expect(await renderMigration(reads, 'up', db)).toEqual({ statements: ['SELECT 2;'], transactional: true });
  });

  it('waits for a migration that finishes through the run callback', async () => {
    const module: MigrationModule = {
      up: (pgm, run) => {
        setTimeout(() => {
          pgm.sql('SELECT 42');
          run!();
        }, 5);
      },
      down: false,
      shorthands: undefined,
    };
    expect(await renderMigration(module, 'up')).toEqual({ statements: ['SELECT 42;'], transactional: true });
    expect(await renderMigration(module, 'down')).toEqual({ statements: [], transactional: true });
  });

  it('reports a migration that runs outside a transaction', async () => {
    const module: MigrationModule = {
      up: (pgm) => {
        pgm.noTransaction();
        pgm.sql('CREATE INDEX CONCURRENTLY i ON t (a)');
      },
      down: (pgm) => pgm.sql('DROP INDEX CONCURRENTLY i'),
      shorthands: undefined,
    };
    expect(await renderMigration(module, 'up')).toEqual({ statements: ['CREATE INDEX CONCURRENTLY i ON t (a);'], transactional: false });
  });

  it('renders the down node-pg-migrate infers for a module without one: the up reversed', async () => {
    const module: MigrationModule = {
      up: (pgm) => {
        pgm.createTable('t', { id: 'id' });
        pgm.addColumn('t', { a: { type: 'text' } });
      },
      down: undefined,
      shorthands: undefined,
    };
    expect(await renderMigration(module, 'down')).toEqual({ statements: ['ALTER TABLE "t"\n  DROP "a";', 'DROP TABLE "t";'], transactional: true });
    const raw: MigrationModule = { up: (pgm) => pgm.sql('CREATE TABLE t ()'), down: undefined, shorthands: undefined };
    await expect(renderMigration(raw, 'down')).rejects.toThrow(/^Impossible to automatically infer down migration/);
  });

  it('lets other build errors through (they are bugs in the migration, not a reason to skip the checksum)', async () => {
    const broken: MigrationModule = { up: () => { throw new Error('typo'); }, down: false, shorthands: undefined };
    await expect(sqlChecksumOf(broken)).rejects.toThrow('typo');
  });
});

describe('loadMigrationModule', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-load-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function loadError(name: string, source: string): Promise<DbkitError> {
    const file = path.join(dir, name);
    writeFileSync(file, source);
    try {
      await loadMigrationModule({ name: name.replace(/\.\w+$/, ''), path: file, fileChecksum: 'x' }, dir);
    } catch (error) {
      expect(error).toBeInstanceOf(DbkitError);
      expect((error as DbkitError).code).toBe('PREFLIGHT_FAILED');
      return error as DbkitError;
    }
    throw new Error('expected PREFLIGHT_FAILED');
  }

  it('refuses a module without up', async () => {
    expect((await loadError('1_no_up.ts', 'export const down = () => {};\n')).message).toBe('1_no_up.ts does not export an up function');
  });

  it('accepts a module without down (node-pg-migrate infers it) and down = false (declared irreversible)', async () => {
    const file = path.join(dir, '2_no_down.ts');
    writeFileSync(file, 'export const up = () => {};\n');
    expect((await loadMigrationModule({ name: '2_no_down', path: file, fileChecksum: 'x' }, dir)).down).toBeUndefined();
    const irreversible = path.join(dir, '3_irreversible.ts');
    writeFileSync(irreversible, 'export const up = () => {};\nexport const down = false;\n');
    expect((await loadMigrationModule({ name: '3_irreversible', path: irreversible, fileChecksum: 'x' }, dir)).down).toBe(false);
  });

  it('refuses a down that is neither a function nor false', async () => {
    expect((await loadError('5_bad_down.ts', 'export const up = () => {};\nexport const down = "drop";\n')).message).toBe('5_bad_down.ts exports a down that is neither a function nor false');
  });

  it('names a module that cannot be loaded', async () => {
    expect((await loadError('4_syntax.ts', 'export const up = (;\n')).message).toMatch(/^4_syntax\.ts cannot be loaded: /);
  });
});

describe('loadMigrations: what pre-flight learns about each migration', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'dbkit-load-folder-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function load(files: Record<string, string>, sub = 'migrations'): Promise<LoadedMigration[]> {
    const dir = path.join(root, `${sub}-${Object.keys(files).length}-${Math.random().toString(16).slice(2)}`, ...(sub === 'supabase' ? ['supabase', 'migrations'] : []));
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const folder = readMigrationFolder(dir, { cwd: root });
    return loadMigrations(folder.files, root, folder.format);
  }

  /** The refusal, its message without the scratch folder's name. */
  async function refusal(files: Record<string, string>, sub?: string): Promise<{ message: string; hint: string | undefined }> {
    try {
      await load(files, sub);
    } catch (error) {
      expect(error).toBeInstanceOf(DbkitError);
      expect((error as DbkitError).code).toBe('PREFLIGHT_FAILED');
      return { message: (error as DbkitError).message.replace(/^[^/]*\//, ''), hint: (error as DbkitError).hint };
    }
    throw new Error('expected PREFLIGHT_FAILED');
  }

  it('says how each migration can be reverted', async () => {
    const loaded = await load({
      '1_down.ts': "export const up = (pgm) => pgm.sql('CREATE TABLE a ()');\nexport const down = (pgm) => pgm.sql('DROP TABLE a');\n",
      '2_inferred.ts': "export const up = (pgm) => pgm.createTable('b', { id: 'id' });\n",
      '3_cannot_infer.ts': "export const up = (pgm) => pgm.sql('CREATE TABLE c ()');\n",
      '4_declared.ts': "export const up = (pgm) => pgm.sql('CREATE TABLE d ()');\nexport const down = false;\n",
      '5_sql.sql': '-- Up Migration\nCREATE TABLE e ();\n-- Down Migration\nDROP TABLE e;\n',
      '6_sql_up_only.sql': 'CREATE TABLE f ();\n',
    });
    expect(loaded.map((m) => [m.name, m.reversibility.kind])).toEqual([
      ['1_down', 'down'],
      ['2_inferred', 'inferred'],
      ['3_cannot_infer', 'irreversible'],
      ['4_declared', 'irreversible'],
      ['5_sql', 'down'],
      ['6_sql_up_only', 'irreversible'],
    ]);
    const why = (name: string) => {
      const r = loaded.find((m) => m.name === name)!.reversibility;
      return r.kind === 'irreversible' ? r.why : null;
    };
    expect(why('3_cannot_infer')).toMatch(/^it has no down, and node-pg-migrate cannot infer one/);
    expect(why('4_declared')).toBe('declared irreversible: export const down = false');
    expect(why('6_sql_up_only')).toBe('it has no "-- Down Migration" section');
    expect(await renderMigration(loaded[4]!.module, 'down')).toEqual({ statements: ['-- Down Migration\nDROP TABLE e;'], transactional: true });
  });

  it('reads a Supabase file as up-only, with what the CLI records for it', async () => {
    const [m] = await load({ '20240101000000_init.sql': 'create table a ();\n-- Down Migration\ndrop table a;\n' }, 'supabase');
    expect(m!.reversibility).toEqual({ kind: 'irreversible', why: 'Supabase CLI migrations are up-only' });
    expect(m!.source).toEqual({ kind: 'sql', format: 'supabase', version: '20240101000000', supabaseName: 'init', statements: ['create table a ()', '-- Down Migration\ndrop table a'] });
  });

  it('flags a migration that runs outside a transaction, and one whose SQL depends on the database', async () => {
    const loaded = await load({
      '1_concurrently.ts': "export const up = (pgm) => { pgm.noTransaction(); pgm.sql('CREATE INDEX CONCURRENTLY i ON t (a)'); };\nexport const down = (pgm) => { pgm.noTransaction(); pgm.sql('DROP INDEX CONCURRENTLY i'); };\n",
      '2_reads.ts': "export const up = async (pgm) => { await pgm.db.select('SELECT 1'); };\nexport const down = () => {};\n",
      '3_plain.ts': "export const up = (pgm) => pgm.sql('SELECT 1');\nexport const down = () => {};\n",
    });
    expect(loaded.map((m) => m.transactional)).toEqual([false, null, true]);
  });

  it('refuses COMMIT and ROLLBACK in the SQL a typed migration builds, naming the file and the statement', async () => {
    const commit = await refusal({ '1_commit.ts': "export const up = (pgm) => { pgm.sql('CREATE TABLE a ()'); pgm.sql('COMMIT'); };\nexport const down = () => {};\n" });
    expect(commit.message).toBe('1_commit.ts: its up commits (COMMIT/END) in step 2: COMMIT');
    const rollback = await refusal({ '1_rollback.ts': "export const up = (pgm) => pgm.sql('SELECT 1');\nexport const down = (pgm) => pgm.sql('DROP TABLE a; ROLLBACK');\n" });
    expect(rollback.message).toBe('1_rollback.ts: its down rolls back (ROLLBACK/ABORT) in step 1: ROLLBACK');
  });

  it('refuses transaction control inside a SQL file but not a BEGIN ... COMMIT around all of it', async () => {
    const inside = await refusal({ '1_x.sql': 'CREATE TABLE a ();\nCOMMIT;\nCREATE TABLE b ();\n' });
    expect(inside.message).toBe('1_x.sql:2: commits (COMMIT/END): COMMIT');
    const [wrapped] = await load({ '1_y.sql': 'BEGIN;\nCREATE TABLE a ();\nCOMMIT;\n' });
    expect((await renderMigration(wrapped!.module, 'up')).statements).toEqual(['CREATE TABLE a ();']);
  });

  it('refuses a migration outside a transaction whose SQL does not parse: it would fail half-way', async () => {
    const error = await refusal({ '1_bad.ts': "export const up = (pgm) => { pgm.noTransaction(); pgm.sql('CREATE TABLE a ()'); pgm.sql('CREAT INDEX'); };\nexport const down = false;\n" });
    expect(error.message).toMatch(/^1_bad\.ts: its up runs outside a transaction \(pgm\.noTransaction\(\)\) and step 2 cannot be parsed: /);
  });

  it('accumulates type shorthands over the folder, as node-pg-migrate\'s runner does', async () => {
    const loaded = await load({
      '1_base.ts': "export const shorthands = { stamp: { type: 'timestamptz', notNull: true } };\nexport const up = () => {};\nexport const down = () => {};\n",
      '2_uses.ts': "export const up = (pgm) => pgm.createTable('t', { at: 'stamp' });\n",
    });
    expect((await renderMigration(loaded[1]!.module, 'up')).statements[0]).toContain('"at" timestamptz NOT NULL');
  });
});
