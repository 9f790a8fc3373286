/**
 * Every migration has a real, tested down: applying the set one migration at a time and reverting
 * it one at a time passes through exactly the same schema fingerprints (columns, types, defaults,
 * constraints, indexes, views, functions, policies, RLS flags, grants), on an empty database and
 * on a brownfield v0.7.0 one whose rows survive. After each down, the expectations declared for
 * the reverted state hold.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';
import { createTestDatabase, testServers, type TestDatabase } from '../helpers/db.ts';
import { MIGRATIONS_DIR } from '../helpers/migrations.ts';
import { schemaFingerprint } from '../../src/db/fingerprint.ts';
import { diffSnapshots, formatDifference, type Fingerprint } from '../../src/core/fingerprint.ts';
import { listMigrationFiles } from '../../src/migrations/files.ts';
import { loadMigrations } from '../../src/migrations/load.ts';
import { ensureTracking } from '../../src/migrations/tracking.ts';
import { runMigrationStep } from '../../src/migrations/run.ts';
import { loadExpectations, runValidation } from '../../src/migrations/session.ts';

const BROWNFIELD = readFileSync(path.join(ROOT, 'test/fixtures/v070-brownfield.sql'), 'utf8');

const diff = (a: Fingerprint, b: Fingerprint) => diffSnapshots(a.snapshot, b.snapshot).map(formatDifference).join('\n');

describe.each(testServers())('migration downs on $name', (server) => {
  let db: TestDatabase;
  let client: pg.Client;
  beforeEach(async () => {
    db = await createTestDatabase(server);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  afterEach(async () => {
    await client.end();
    await db.drop();
  });

  it.each([
    ['an empty database', ''],
    ['a brownfield v0.7.0 database', BROWNFIELD],
  ])('up and down retrace the same fingerprints on %s', async (_label, fixture) => {
    if (fixture) await client.query(fixture);
    const rowsBefore = fixture ? (await client.query('SELECT to_jsonb(c) AS r FROM public.contents c ORDER BY id')).rows : [];
    const migrations = await loadMigrations(listMigrationFiles(MIGRATIONS_DIR));
    const expectations = await loadExpectations(MIGRATIONS_DIR);
    await ensureTracking(client);

    const states: Fingerprint[] = [await schemaFingerprint(client)];
    for (const m of migrations) {
      const outcome = await runMigrationStep({ client, migrationsDir: MIGRATIONS_DIR, migrations, name: m.name, direction: 'up', lockTimeoutMs: 5000 });
      expect(outcome.status, outcome.error?.message).toBe('applied');
      states.push(await schemaFingerprint(client));
      const applied = await runValidation(client, expectations, [{ migration: m.name, when: 'applied' }]);
      expect(applied.filter((c) => !c.ok)).toEqual([]);
    }
    // every migration changes something
    expect(new Set(states.map((s) => s.hash)).size).toBe(states.length);

    for (let i = migrations.length - 1; i >= 0; i -= 1) {
      const m = migrations[i]!;
      const outcome = await runMigrationStep({ client, migrationsDir: MIGRATIONS_DIR, migrations, name: m.name, direction: 'down', lockTimeoutMs: 5000 });
      expect(outcome.status, outcome.error?.message).toBe('reverted');
      const now = await schemaFingerprint(client);
      expect(now.hash, `after reverting ${m.name}:\n${diff(states[i]!, now)}`).toBe(states[i]!.hash);
      const reverted = await runValidation(client, expectations, [{ migration: m.name, when: 'reverted' }]);
      expect(reverted.filter((c) => !c.ok)).toEqual([]);
    }
    const ledger = await client.query('SELECT count(*)::int AS n FROM dbkit.provisioned_objects');
    expect(ledger.rows[0].n).toBe(0);
    if (fixture) expect((await client.query('SELECT to_jsonb(c) AS r FROM public.contents c ORDER BY id')).rows).toEqual(rowsBefore);
  });

  it('the baseline down refuses to drop a table it created that has since received rows', async () => {
    const migrations = await loadMigrations(listMigrationFiles(MIGRATIONS_DIR));
    await ensureTracking(client);
    for (const m of migrations.slice(0, 2)) {
      expect((await runMigrationStep({ client, migrationsDir: MIGRATIONS_DIR, migrations, name: m.name, direction: 'up', lockTimeoutMs: 5000 })).status).toBe('applied');
    }
    await client.query("INSERT INTO public.minds (slug, display_name) VALUES ('keep-me', 'Keep me')");
    const before = await schemaFingerprint(client, { includeDbkitSchema: true });
    const outcome = await runMigrationStep({ client, migrationsDir: MIGRATIONS_DIR, migrations, name: migrations[1]!.name, direction: 'down', lockTimeoutMs: 5000 });
    expect(outcome.status).toBe('failed');
    expect(outcome.error?.message).toContain('refusing to drop public.minds: it holds rows');
    const after = await schemaFingerprint(client, { includeDbkitSchema: true });
    expect(after.hash, diff(before, after)).toBe(before.hash);
    expect((await client.query('SELECT count(*)::int AS n FROM public.minds')).rows[0].n).toBe(1);
  });
});
