/**
 * Attack (issue 9, item 10): alter the data inside a template-copy backup (dbkit_bk_*) without
 * changing its schema or row counts, then restore it. The per-table content checksums recorded at
 * backup time must catch it before anything is restored.
 */
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, urlFor, withAdmin, type TestDatabase } from '../helpers/db.ts';
import { seedContents } from '../helpers/backups.ts';
import type { BackupReport } from '../../src/commands/backup.ts';

describe.each(testServers())('a tampered template copy on $name', (server) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  const into = () => `${db.name}_into`;
  beforeEach(async () => {
    db = await createTestDatabase(server, 'tt');
    env = cleanEnv();
    await seedContents(db.url, 300);
  });
  afterEach(async () => {
    await withAdmin(server.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${into()}" WITH (FORCE)`));
    await db.drop();
    rmSync(env.DBKIT_STATE_DIR!, { recursive: true, force: true });
  });

  it('restore --into refuses a copy whose rows were changed in place (same schema, same counts)', async () => {
    const taken = await runCli(['backup', '--backup-strategy', 'template', '--db', db.url, '--json'], { env });
    expect(taken.code, taken.stderr).toBe(0);
    const backup = parseJson<BackupReport>(taken).backup!;
    expect(backup.location.kind).toBe('database');
    const copy = backup.location.kind === 'database' ? backup.location.database : '';

    await query(urlFor(server.adminUrl, copy), "UPDATE public.contents SET content = 'TAMPERED' WHERE id % 7 = 0");

    const restored = await runCli(['restore', backup.id, '--into', into(), '--db', db.url], { env });
    expect(restored.code, `${restored.stdout}\n${restored.stderr}`).toBe(19);
    expect(restored.stderr).toMatch(/backup \S+ cannot be trusted: the backup database \S+ changed since it was taken: the content of 1 table\(s\) differs from the checksum recorded at backup time: public\.contents/);
    expect(await withAdmin(server.adminUrl, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [into()])).rowCount)).toBe(0);

    // The same copy, put back as it was, restores (the check is of content, not of the act of writing).
    await query(urlFor(server.adminUrl, copy), "UPDATE public.contents SET content = repeat(md5(id::text), 3) WHERE id % 7 = 0");
    const again = await runCli(['restore', backup.id, '--into', into(), '--db', db.url], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(await query<{ n: string }>(urlFor(server.adminUrl, into()), "SELECT count(*) AS n FROM public.contents WHERE content = 'TAMPERED'")).toEqual([{ n: '0' }]);
  });

  it('also catches changes that a column type calls equal but that show: numeric 1.0 -> 1.00, jsonb 1.0 -> 1.00', async () => {
    await query(db.url, `CREATE TABLE public.scores (id int PRIMARY KEY, score numeric, meta jsonb);
      INSERT INTO public.scores SELECT g, 1.0, '{"w": 1.0}' FROM generate_series(1, 50) g`);
    const taken = await runCli(['backup', '--backup-strategy', 'template', '--db', db.url, '--json'], { env });
    expect(taken.code, taken.stderr).toBe(0);
    const backup = parseJson<BackupReport>(taken).backup!;
    const copy = backup.location.kind === 'database' ? backup.location.database : '';
    for (const change of ["UPDATE public.scores SET score = 1.00 WHERE id = 7", `UPDATE public.scores SET score = 1.0, meta = '{"w": 1.00}' WHERE id = 7`]) {
      await query(urlFor(server.adminUrl, copy), change);
      const restored = await runCli(['restore', backup.id, '--into', into(), '--db', db.url], { env });
      expect(restored.code, `${change}: ${restored.stderr}`).toBe(19);
      expect(restored.stderr).toContain('differs from the checksum recorded at backup time: public.scores');
    }
  });
});
