/**
 * A backup counts an extension's configuration table through the filter the extension recorded
 * (pg_extension.extcondition), text that dbkit puts into the counting statement as pg_dump puts it
 * into its COPY. A filter forged to smuggle in a second statement (here, to drop a table) must not
 * run: the count is sent with parameters, as one statement, and the backup is refused in one line
 * with nothing changed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../helpers/cli.ts';
import { createTestDatabase, query, testServers, type TestDatabase } from '../helpers/db.ts';

const SETUP = `
  CREATE EXTENSION citext;
  CREATE TABLE public.notes (id int PRIMARY KEY);
  INSERT INTO public.notes SELECT generate_series(1, 3);
  CREATE TABLE public.ext_config (id int PRIMARY KEY);
  ALTER EXTENSION citext ADD TABLE public.ext_config;
  UPDATE pg_extension SET extconfig = ARRAY['public.ext_config'::regclass::oid],
         extcondition = ARRAY['WHERE true; DROP TABLE public.notes; --'] WHERE extname = 'citext';`;

describe.each(testServers())('a forged extension filter on $name', (server) => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase(server);
    await query(db.url, SETUP);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('never runs a second statement: the backup is refused in one line and the table is still there', async () => {
    const result = await runCli(['backup', '--db', db.url], { env: cleanEnv() });
    expect(result.code, result.stderr).toBe(10);
    const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines[0]).toMatch(/^error: cannot count the rows of public\.ext_config through the filter its extension recorded/);
    expect(lines[0]).toMatch(/cannot insert multiple commands/);
    expect(lines).toHaveLength(2);
    expect(result.stderr).not.toMatch(/bug in dbkit/);
    expect(await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM public.notes')).toEqual([{ n: 3 }]);
  });
});
