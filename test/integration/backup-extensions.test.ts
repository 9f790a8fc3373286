/**
 * A backup of a database whose extensions own tables with rows verifies. pg_dump archives none of
 * an extension's own rows (CREATE EXTENSION makes its tables anew on restore) unless the extension
 * marked the table as configuration (pg_extension_config_dump), and then only the rows its filter
 * keeps: PostGIS's spatial_ref_sys, pg_cron's jobs, pg_net's queue on a Supabase database. Found by
 * scripts/eval/adopt.ts on a Supabase project whose migrations schedule a pg_cron job: every apply
 * there failed with "backup could not be verified: row counts differ".
 *
 * The extension here is citext; the tables are made its members as an extension script makes
 * them (ALTER EXTENSION ... ADD TABLE), and one is marked as configuration with a filter the way
 * pg_extension_config_dump records it (pg_extension.extconfig / extcondition), which only an
 * extension script may call.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';
import type { BackupReport } from '../../src/commands/backup.ts';
import type { BackupManifest } from '../../src/backup/manifest.ts';

const SETUP = `
  CREATE EXTENSION citext;
  CREATE TABLE public.notes (id int PRIMARY KEY, body citext);
  INSERT INTO public.notes SELECT g, 'note ' || g FROM generate_series(1, 5) g;
  -- The extension's own state (a job queue): not archived by pg_dump.
  CREATE TABLE public.ext_queue (id int PRIMARY KEY, job text);
  INSERT INTO public.ext_queue SELECT g, 'job ' || g FROM generate_series(1, 3) g;
  ALTER EXTENSION citext ADD TABLE public.ext_queue;
  -- A configuration table: the rows with id >= 100 are the user's, archived; the others come with the extension.
  CREATE TABLE public.ext_config (id int PRIMARY KEY, label text);
  INSERT INTO public.ext_config SELECT g, 'builtin' FROM generate_series(1, 4) g;
  INSERT INTO public.ext_config VALUES (100, 'mine'), (101, 'mine too');
  ALTER EXTENSION citext ADD TABLE public.ext_config;
  UPDATE pg_extension SET extconfig = ARRAY['public.ext_config'::regclass::oid], extcondition = ARRAY['WHERE id >= 100'] WHERE extname = 'citext';`;

describe.each(testServers())('backup of a database whose extensions own tables, on $name', (server) => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase(server);
    await query(db.url, SETUP);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('verifies, counting what the archive holds of each extension table', async () => {
    const env = cleanEnv();
    const result = await runCli(['backup', '--json', '--db', db.url], { env });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    const report = parseJson<BackupReport>(result);
    expect(report.backup?.verified).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(env.DBKIT_STATE_DIR!, 'backups', `${report.backup!.id}.json`), 'utf8')) as BackupManifest;
    expect(manifest.rowCounts['public.notes']).toBe(5);
    // The extension's state is not the backup's to hold; its configuration counts through the filter.
    expect(manifest.rowCounts).not.toHaveProperty('public.ext_queue');
    expect(manifest.rowCounts['public.ext_config']).toBe(2);
  });
});
