import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { withDatabaseTarget } from '../../../src/embedded/target.ts';
import { quietReporter } from '../../../src/output/terminal.ts';
import { registerSecrets, scrubKnownSecrets, withSecretScope } from '../../../src/output/secrets.ts';

const cwd = mkdtempSync(path.join(tmpdir(), 'dbkit-secrets-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const configFor = (url: string) => loadConfig({ cwd, env: { DATABASE_URL: url } });
const silent = quietReporter({ write: () => true } as unknown as NodeJS.WriteStream);

describe('known secrets belong to one call', () => {
  it('a library user calling twice with two URLs: each call scrubs its own password, not the stale one', async () => {
    const seen: string[] = [];
    await withDatabaseTarget(configFor('postgres://app:first-pass-1@db1.example:5432/one'), silent, async () => {
      seen.push(scrubKnownSecrets('first-pass-1 second-pass-2'));
    });
    await withDatabaseTarget(configFor('postgres://app:second-pass-2@db2.example:5432/two'), silent, async () => {
      seen.push(scrubKnownSecrets('first-pass-1 second-pass-2'));
    });
    expect(seen[0]).not.toContain('first-pass-1');
    expect(seen[0]).toContain('second-pass-2');
    // The first call's password is no longer "known": with the old process-wide set it was.
    expect(seen[1]).toContain('first-pass-1');
    expect(seen[1]).not.toContain('second-pass-2');
    expect(scrubKnownSecrets('first-pass-1 second-pass-2')).toBe('first-pass-1 second-pass-2');
  });

  it('an error leaving a library call leaves without the password', async () => {
    const url = 'postgres://app:leaky-pass-3@db3.example:5432/three';
    const failing = withDatabaseTarget(configFor(url), silent, async () => {
      throw new Error(`could not reach ${url}`);
    });
    await expect(failing).rejects.toThrow(/could not reach/);
    await expect(failing).rejects.not.toThrow(/leaky-pass-3/);
  });

  it('concurrent calls keep apart; the CLI scope (outer) keeps what inner calls register, for printing afterwards', async () => {
    const [a, b] = await Promise.all(
      ['alpha-secret', 'bravo-secret'].map((secret) =>
        withSecretScope(async () => {
          registerSecrets([secret]);
          await new Promise((resolve) => setTimeout(resolve, 10));
          return scrubKnownSecrets('alpha-secret bravo-secret');
        }),
      ),
    );
    expect(a).not.toContain('alpha-secret');
    expect(a).toContain('bravo-secret');
    expect(b).toContain('alpha-secret');
    expect(b).not.toContain('bravo-secret');
    const printed = await withSecretScope(async () => {
      await withDatabaseTarget(configFor('postgres://app:outer-pass-4@db4.example:5432/four'), silent, async () => {});
      return scrubKnownSecrets('outer-pass-4');
    });
    expect(printed).not.toContain('outer-pass-4');
  });

  it('registering outside any scope is a bug, not a silent no-op', () => {
    expect(() => registerSecrets(['nowhere-secret'])).toThrow(/outside withSecretScope/);
  });
});
