/**
 * Every way a connection can fail gets one clear line, the URL redacted, its own exit code, no
 * stack trace, and no change anywhere.
 */
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { parseJson, runCli } from '../helpers/cli.ts';
import { createTestDatabase, urlFor } from '../helpers/db.ts';

const embeddedAdmin = inject('embeddedAdminUrl');
const external = inject('externalAdminUrl');

function withPassword(url: string, password: string, database?: string): string {
  const u = new URL(database ? urlFor(url, database) : url);
  u.password = password;
  return u.toString();
}

function expectOneCleanLine(stderr: string, secret?: string) {
  const lines = stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines.length).toBeLessThanOrEqual(2); // the message and its hint
  expect(stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  if (secret) expect(stderr).not.toContain(secret);
}

describe('connection failures', () => {
  const secret = 'S3cr3t-p@ss:word';

  it('a URL that cannot be parsed: exit 3', async () => {
    for (const bad of ['not a url', 'mysql://root@localhost/db', `postgres://user:${encodeURIComponent(secret)}@`]) {
      const result = await runCli(['apply', '--db', bad]);
      expect(result.code, bad).toBe(3);
      expectOneCleanLine(result.stderr, encodeURIComponent(secret));
    }
  });

  it('a refused connection: exit 4, URL redacted', async () => {
    const result = await runCli(['apply', '--db', `postgres://postgres:${encodeURIComponent(secret)}@127.0.0.1:1/db`]);
    expect(result.code).toBe(4);
    expectOneCleanLine(result.stderr, encodeURIComponent(secret));
    expect(result.stderr).toContain('connection refused by 127.0.0.1:1 (postgres://postgres:***@127.0.0.1:1/db)');
  });

  it('an unknown host: exit 4', async () => {
    const result = await runCli(['status', '--db', `postgres://postgres:${encodeURIComponent(secret)}@no-such-host.invalid:5432/db`]);
    expect(result.code).toBe(4);
    expectOneCleanLine(result.stderr, encodeURIComponent(secret));
    expect(result.stderr).toContain('host no-such-host.invalid not found');
  });

  it('a wrong password (embedded cluster, scram): exit 5, the wrong password never printed', async () => {
    const result = await runCli(['apply', '--db', withPassword(embeddedAdmin, secret), '--json']);
    expect(result.code).toBe(5);
    const doc = parseJson<{ ok: boolean; error: { code: string; message: string } }>(result);
    expect(doc.ok).toBe(false);
    expect(doc.error.code).toBe('DB_AUTH_FAILED');
    expect(result.stdout).not.toContain(secret);
    expect(result.stdout).not.toContain(encodeURIComponent(secret));
    expect(doc.error.message).toContain('postgres://postgres:***@127.0.0.1');
  });

  it('a missing database: exit 6 with what to do', async () => {
    const result = await runCli(['apply', '--db', urlFor(embeddedAdmin, 'dbkit_does_not_exist')]);
    expect(result.code).toBe(6);
    expectOneCleanLine(result.stderr);
    expect(result.stderr).toContain('database "dbkit_does_not_exist" does not exist');
    expect(result.stderr).toContain('createdb dbkit_does_not_exist');
  });

  it.runIf(external)('an unknown role on a trust-auth server: exit 5', async () => {
    const url = new URL(external!);
    url.username = 'no_such_role_dbkit';
    const result = await runCli(['status', '--db', url.toString()]);
    expect(result.code).toBe(5);
    expectOneCleanLine(result.stderr);
  });

  it('bad flags and settings are usage errors (exit 2), all reported at once', async () => {
    const db = await createTestDatabase({ name: 'embedded-17', adminUrl: embeddedAdmin });
    try {
      const result = await runCli(['apply', '--db', db.url, '--lock-timeout', '30', '--lock-wait', 'soon']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--lock-timeout: '30' needs a unit");
      expect(result.stderr).toContain("--lock-wait: 'soon' is not a duration");
      const unknown = await runCli(['apply', '--backup-strategy', 'tape']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("'tape' is invalid");
    } finally {
      await db.drop();
    }
  });
});
