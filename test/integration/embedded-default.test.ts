/**
 * The newcomer's path: no DATABASE_URL anywhere, `dbkit apply` creates the embedded PostgreSQL 17
 * cluster under the state dir (as root here, which initdb refuses: dbkit runs it as `postgres`),
 * applies, and the state survives for the next command. Also dbkit db url|start|stop|reset.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, runCli } from '../helpers/cli.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';
import type { StatusReport } from '../../src/commands/status.ts';
import { MIGRATION_NAMES } from '../helpers/migrations.ts';

describe('zero-configuration embedded cluster', () => {
  const env = cleanEnv();
  const stateDir = env.DBKIT_STATE_DIR!;
  afterAll(async () => {
    await runCli(['db', 'reset', '--yes'], { env });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('dbkit apply with nothing configured creates the cluster, applies everything and stops the cluster again', async () => {
    const result = await runCli(['apply'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('No DATABASE_URL given: creating the embedded PostgreSQL 17 cluster');
    expect(result.stdout).toMatch(/connect PostgreSQL 17\.\d+ as postgres on postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/dbkit \(embedded\)/);
    expect(result.stdout).toContain(`Applied ${MIGRATION_NAMES.length} migrations`);
    const state = JSON.parse(readFileSync(path.join(stateDir, 'embedded.json'), 'utf8')) as { password: string; clusterDir: string };
    expect(result.stdout + result.stderr).not.toContain(state.password);
    expect(existsSync(path.join(state.clusterDir, 'pg', 'PG_VERSION'))).toBe(true);
    // a state dir the postgres OS user can reach keeps the cluster inside it
    expect(state.clusterDir).toBe(path.join(stateDir, 'embedded'));
    // the command started the cluster, so it stopped it when done
    expect(existsSync(path.join(state.clusterDir, 'pg', 'postmaster.pid'))).toBe(false);
    expect(readFileSync(path.join(stateDir, '.gitignore'), 'utf8')).toContain('*');
  });

  it('keeps its state between commands', async () => {
    const status = parseJson<StatusReport>(await runCli(['status', '--json'], { env }));
    expect(status.database.kind).toBe('embedded');
    expect(status.applied.map((a) => a.name)).toEqual(MIGRATION_NAMES);
    expect(status.lastBackup?.strategy).toBe('template');
    expect(status.lastBackup?.verified).toBe(true);
    const again = parseJson<ApplyReport>(await runCli(['apply', '--json'], { env }));
    expect(again.pending).toEqual([]);
  });

  it('db url redacts the password unless asked; db start keeps it running until db stop', async () => {
    const state = JSON.parse(readFileSync(path.join(stateDir, 'embedded.json'), 'utf8')) as { password: string; clusterDir: string };
    const url = await runCli(['db', 'url'], { env });
    expect(url.code).toBe(0);
    expect(url.stdout.trim()).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/dbkit$/);
    const shown = await runCli(['db', 'url', '--show-password'], { env });
    expect(shown.stdout).toContain(encodeURIComponent(state.password));

    expect((await runCli(['db', 'start'], { env })).code).toBe(0);
    const pidFile = path.join(state.clusterDir, 'pg', 'postmaster.pid');
    expect(existsSync(pidFile)).toBe(true);
    // a command run meanwhile does not stop a cluster that db start started
    expect((await runCli(['status'], { env })).code).toBe(0);
    expect(existsSync(pidFile)).toBe(true);
    const stop = await runCli(['db', 'stop'], { env });
    expect(stop.stdout).toContain('Embedded cluster stopped');
    expect(existsSync(pidFile)).toBe(false);
  });

  it('db reset refuses without confirmation outside a terminal, and deletes with --yes', async () => {
    const refused = await runCli(['db', 'reset'], { env });
    expect(refused.code).toBe(14);
    expect(refused.stderr).toContain('pass --yes');
    expect(existsSync(path.join(stateDir, 'embedded.json'))).toBe(true);
    const reset = await runCli(['db', 'reset', '--yes'], { env });
    expect(reset.code).toBe(0);
    expect(existsSync(path.join(stateDir, 'embedded.json'))).toBe(false);
    const missing = await runCli(['db', 'url'], { env });
    expect(missing.code).toBe(15);
  });
});
