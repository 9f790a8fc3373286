/**
 * dbkit backup and dbkit restore against real PostgreSQL servers: pg_dump archives on the
 * external server, template copies on the embedded 17 cluster. The restored database is checked
 * here independently of dbkit's own proof.
 */
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli, ROOT, type CliResult } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, urlFor, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { appliedNames, describeDiff, fingerprint } from '../helpers/schema.ts';
import { MIGRATION_NAMES } from '../helpers/migrations.ts';
import { exactRowCounts, tableRows } from '../helpers/rows.ts';
import type { BackupReport } from '../../src/commands/backup.ts';
import type { RestoreReport } from '../../src/commands/restore.ts';
import type { BackupManifest } from '../../src/backup/manifest.ts';

const BROWNFIELD = readFileSync(path.join(ROOT, 'test/fixtures/v070-brownfield.sql'), 'utf8');

const MORE_CONTENTS = `INSERT INTO public.contents (project_id, slug, title, content_type, content, sequence_order, status)
  SELECT '44444444-4444-4444-8444-444444444444', 'generated-' || g, 'Lição ' || g, 'course_lesson', repeat(E'linha\\t"x"\\n', g % 5), g, 'published'
    FROM generate_series(1, 500) g`;

async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withAdmin(adminUrl, async (c) => ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount ?? 0) > 0);
}

function expectRefused(result: CliResult, exitCode: number, pattern: RegExp): void {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(exitCode);
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('warning:'));
  expect(lines[0]).toMatch(pattern);
  expect(lines.length).toBeLessThanOrEqual(2);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe.each(testServers())('dbkit backup and restore on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  let extraDatabases: string[];
  const cli = (args: string[], url = db.url) => runCli([...args, '--db', url], { env });
  const backupDir = () => path.join(env.DBKIT_STATE_DIR!, 'backups');
  const manifestOf = (id: string) => JSON.parse(readFileSync(path.join(backupDir(), `${id}.json`), 'utf8')) as BackupManifest;
  const newName = (suffix: string) => {
    const name = `${db.name}_${suffix}`;
    extraDatabases.push(name);
    return name;
  };
  async function backup(): Promise<BackupManifest> {
    const result = await cli(['backup', '--json']);
    expect(result.code, result.stderr).toBe(0);
    return manifestOf(parseJson<BackupReport>(result).backup!.id);
  }

  beforeEach(async () => {
    db = await createTestDatabase(server);
    env = cleanEnv();
    extraDatabases = [];
    await query(db.url, BROWNFIELD);
    await query(db.url, MORE_CONTENTS);
    expect((await cli(['apply', '--no-backup'])).code).toBe(0);
  });
  afterEach(async () => {
    await withAdmin(server.adminUrl, async (c) => {
      for (const name of extraDatabases) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
    await db.drop();
  });

  it('backup records the migrations, fingerprint and row counts, verified', async () => {
    const result = await cli(['backup', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<BackupReport>(result);
    expect(report.migrations).toEqual(MIGRATION_NAMES);
    expect(report.backup?.verified).toBe(true);
    expect(report.backup?.strategy).toBe(server.name === 'embedded-17' ? 'template' : 'pg_dump');
    const manifest = manifestOf(report.backup!.id);
    expect(manifest.reason).toBe('on demand');
    expect(manifest.fingerprint).toBe((await fingerprint(db.url, { includeDbkitSchema: true })).hash);
    expect(manifest.rowCounts).toEqual(await exactRowCounts(db.url));
    expect(manifest.rowCounts['public.contents']).toBe(504);
  });

  it('restores a damaged database into a new one: fingerprint and every row count equal the manifest; the live one is untouched', async () => {
    const manifest = await backup();
    const rowsAtBackup = await tableRows(db.url);
    await query(db.url, "DELETE FROM public.contents WHERE slug LIKE 'generated-1%'");
    await query(db.url, "UPDATE public.contents SET title = 'damaged', content = NULL WHERE slug LIKE 'generated-2%'");
    await query(db.url, 'DELETE FROM public.content_tags');
    const damaged = await tableRows(db.url);

    const into = newName('r');
    const result = await cli(['restore', manifest.id, '--into', into, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<RestoreReport>(result);
    expect(report).toMatchObject({ ok: true, mode: 'into', database: { name: into }, preRestoreBackup: null });
    expect(report.proof?.ok).toBe(true);
    expect(report.integrity?.detail).toBeTruthy();

    const restoredUrl = urlFor(server.adminUrl, into);
    expect((await fingerprint(restoredUrl, { includeDbkitSchema: true })).hash).toBe(manifest.fingerprint);
    expect(await exactRowCounts(restoredUrl)).toEqual(manifest.rowCounts);
    expect(await tableRows(restoredUrl)).toEqual(rowsAtBackup);
    expect(await appliedNames(restoredUrl)).toEqual(MIGRATION_NAMES);
    expect(await tableRows(db.url)).toEqual(damaged);

    const human = await cli(['restore', manifest.id, '--into', newName('h')]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/✓ check backup .*\n✓ restore into \S+ schema fingerprint(?:, row counts and content checksums| and row counts) of \d+ tables \(\d+ rows\) equal the manifest/);
    expect(human.stdout).toContain('The live database was not touched.');
  });

  it('a truncated or corrupted backup is refused before anything is restored', async () => {
    const manifest = await backup();
    const live = await fingerprint(db.url, { includeDbkitSchema: true });
    const into = newName('c');
    const refuse = async (pattern: RegExp) => {
      expectRefused(await cli(['restore', manifest.id, '--into', into]), 19, pattern);
      expect(await databaseExists(server.adminUrl, into)).toBe(false);
    };
    if (manifest.location.kind === 'file') {
      const file = path.join(backupDir(), manifest.location.file);
      const original = readFileSync(file);
      truncateSync(file, Math.floor(original.length / 2));
      await refuse(/archive is \d+ bytes but was \d+ when taken \(truncated or replaced\)/);
      const flipped = Buffer.from(original);
      flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
      writeFileSync(file, flipped);
      await refuse(/sha256 differs from the manifest/);
      // Even when the manifest is rewritten to match a cut-short file, the full read-back catches it.
      const cut = original.subarray(0, Math.floor(original.length * 0.6));
      writeFileSync(file, cut);
      writeFileSync(path.join(backupDir(), `${manifest.id}.json`), JSON.stringify({ ...manifest, sizeBytes: cut.length, checksum: createHash('sha256').update(cut).digest('hex') }));
      await refuse(/cannot be trusted: (pg_restore cannot read the archive|the archive ends inside the data|row counts differ)/);
      expect(statSync(file).size).toBe(cut.length);
    } else {
      const copyUrl = urlFor(server.adminUrl, manifest.location.database);
      await query(copyUrl, "DELETE FROM public.contents WHERE slug = 'generated-7'");
      await refuse(/the backup database \S+ changed since it was taken: row counts differ for 1 table\(s\): public\.contents: 503 rows, 504 recorded/);
    }
    expect((await fingerprint(db.url, { includeDbkitSchema: true })).hash).toBe(live.hash);
  });

  it('bad input: unknown backup id, an existing --into database; one line, own exit code, nothing changed', async () => {
    const manifest = await backup();
    const before = await fingerprint(db.url, { includeDbkitSchema: true });
    expectRefused(await cli(['restore', '20990101T000000Z-nope-0000']), 15, /^error: no backup with id "20990101T000000Z-nope-0000" in /);
    expectRefused(await cli(['restore', '../../etc/passwd']), 15, /^error: no backup with id/);
    expectRefused(await cli(['restore', manifest.id, '--into', db.name]), 2, /^error: database "dbkit_t_\w+" already exists on this server/);
    expectRefused(await cli(['restore', manifest.id, '--into', 'bad name']), 2, /is not a usable database name/);
    expectRefused(await cli(['restore', manifest.id, '--into', 'x', '--in-place']), 2, /--into and --in-place cannot be combined/);
    const json = await cli(['restore', 'nope', '--json']);
    expect(parseJson<{ ok: boolean; error: { code: string } }>(json)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect((await fingerprint(db.url, { includeDbkitSchema: true })).hash).toBe(before.hash);
  });

  it('--in-place needs confirmation, takes a fresh backup first, proves the result, and can be undone', async () => {
    const manifest = await backup();
    expect((await cli(['rollback', '--all', '--yes', '--no-backup'])).code).toBe(0);
    await query(db.url, "INSERT INTO public.minds (slug, display_name) VALUES ('after-rollback', 'Written after the rollback')");
    const beforeRestore = await fingerprint(db.url, { includeDbkitSchema: true });
    const rowsBeforeRestore = await tableRows(db.url);

    expectRefused(await cli(['restore', manifest.id, '--in-place']), 14, /^error: refusing to continue without confirmation: Replace the contents of database "dbkit_t_\w+" at /);
    expect((await fingerprint(db.url, { includeDbkitSchema: true })).hash).toBe(beforeRestore.hash);

    const result = await cli(['restore', manifest.id, '--in-place', '--yes', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = parseJson<RestoreReport>(result);
    expect(report).toMatchObject({ ok: true, mode: 'in-place', database: { name: db.name } });
    expect(report.preRestoreBackup?.verified).toBe(true);
    expect((await fingerprint(db.url, { includeDbkitSchema: true })).hash).toBe(manifest.fingerprint);
    expect(await exactRowCounts(db.url)).toEqual(manifest.rowCounts);
    expect(await appliedNames(db.url)).toEqual(MIGRATION_NAMES);
    const fresh = manifestOf(report.preRestoreBackup!.id);
    expect(fresh.reason).toBe(`before restoring ${manifest.id} in place`);
    expect(fresh.migrations).toEqual([]);

    // the fresh backup undoes it
    const undo = await cli(['restore', fresh.id, '--in-place', '--yes']);
    expect(undo.code, undo.stderr).toBe(0);
    const after = await fingerprint(db.url, { includeDbkitSchema: true });
    expect(after.hash, describeDiff(beforeRestore, after)).toBe(beforeRestore.hash);
    expect(await tableRows(db.url)).toEqual(rowsBeforeRestore);
  });

  it('backups --keep N and DBKIT_KEEP_BACKUPS prune old backups (archives deleted, copies dropped)', async () => {
    const first = await backup();
    const second = await backup();
    const third = await backup();
    const result = await cli(['backups', '--keep', '1', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const listed = parseJson<{ backups: { id: string }[]; pruned: { removed: string[] } }>(result);
    expect(listed.pruned.removed.sort()).toEqual([first.id, second.id].sort());
    expect(listed.backups.map((b) => b.id)).toEqual([third.id]);
    for (const gone of [first, second]) {
      if (gone.location.kind === 'database') expect(await databaseExists(server.adminUrl, gone.location.database)).toBe(false);
      else expect(() => statSync(path.join(backupDir(), gone.location.kind === 'file' ? gone.location.file : ''))).toThrow();
    }
    env = { ...env, DBKIT_KEEP_BACKUPS: '1' };
    const fourth = await backup();
    const list = parseJson<{ backups: { id: string }[] }>(await cli(['backups', '--json']));
    expect(list.backups.map((b) => b.id)).toEqual([fourth.id]);
    expectRefused(await cli(['backups', '--keep', '0']), 2, /--keep: '0' is not a whole number >= 1/);
  });
});

describe.runIf(testServers().length > 1)('dbkit restore across servers', () => {
  it('refuses a pg_dump archive on a server no installed pg_restore can serve, before anything changes', async () => {
    const [embedded, external] = testServers();
    const source = await createTestDatabase(external!);
    const target = await createTestDatabase(embedded!);
    const env = cleanEnv();
    try {
      expect((await runCli(['apply', '--no-backup', '--db', source.url], { env })).code).toBe(0);
      const taken = parseJson<BackupReport>(await runCli(['backup', '--json', '--db', source.url], { env }));
      expect(taken.backup?.strategy).toBe('pg_dump');
      const before = await fingerprint(target.url, { includeDbkitSchema: true });
      const into = `${target.name}_x`;
      expectRefused(await runCli(['restore', taken.backup!.id, '--into', into, '--db', target.url], { env }), 18, /^error: no pg_restore 17 or newer found: backup \S+ was taken with pg_dump 15\.\d+ and the server is PostgreSQL 17/);
      expect(await databaseExists(embedded!.adminUrl, into)).toBe(false);
      expect((await fingerprint(target.url, { includeDbkitSchema: true })).hash).toBe(before.hash);
    } finally {
      await source.drop();
      await target.drop();
    }
  });
});
