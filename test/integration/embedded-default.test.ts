/**
 * The newcomer's path: no DATABASE_URL anywhere, `dbkit apply` creates the embedded PostgreSQL 17
 * cluster under the state dir (as root here, which initdb refuses: dbkit runs it as `postgres`),
 * applies, and the state survives for the next command. The cluster stays up between commands
 * and a detached watchdog stops it once idle (DBKIT_EMBEDDED_IDLE); db url|start|stop|reset.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, parseJson, ROOT, runCli } from '../helpers/cli.ts';
import { connect } from '../../src/db/connect.ts';
import type { ApplyReport } from '../../src/commands/apply.ts';
import type { StatusReport } from '../../src/commands/status.ts';
import { MIGRATION_NAMES } from '../helpers/migrations.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('zero-configuration embedded cluster', () => {
  const env = cleanEnv();
  const stateDir = env.DBKIT_STATE_DIR!;
  const withIdle = (idle: string) => ({ ...env, DBKIT_EMBEDDED_IDLE: idle });
  const state = () => JSON.parse(readFileSync(path.join(stateDir, 'embedded.json'), 'utf8')) as { password: string; clusterDir: string; port: number };
  const postmasterPid = (): number | null => {
    const file = path.join(state().clusterDir, 'pg', 'postmaster.pid');
    if (!existsSync(file)) return null;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return alive(pid) ? pid : null;
  };
  const watchdogPid = (): number | null => {
    const file = path.join(stateDir, 'embedded-watchdog');
    if (!existsSync(file)) return null;
    const pid = Number(readFileSync(file, 'utf8').split(' ')[0]);
    return alive(pid) ? pid : null;
  };
  const watchdogLog = () => readFileSync(path.join(stateDir, 'embedded-watchdog.log'), 'utf8');
  afterAll(async () => {
    await runCli(['db', 'reset', '--yes'], { env });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('--version and --help do not touch the state dir or the cluster', async () => {
    expect((await runCli(['--version'], { env })).code).toBe(0);
    expect((await runCli(['--help'], { env })).code).toBe(0);
    expect((await runCli(['status', '--help'], { env })).code).toBe(0);
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it('dbkit apply with nothing configured creates the cluster, applies everything and leaves it running under a watchdog', async () => {
    const result = await runCli(['apply'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('No DATABASE_URL given: creating the embedded PostgreSQL 17 cluster');
    expect(result.stdout).toMatch(/connect PostgreSQL 17\.\d+ as postgres on postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/dbkit \(embedded\)/);
    expect(result.stdout).toContain(`Applied ${MIGRATION_NAMES.length} migrations`);
    expect(result.stdout + result.stderr).not.toContain(state().password);
    expect(existsSync(path.join(state().clusterDir, 'pg', 'PG_VERSION'))).toBe(true);
    // a state dir the postgres OS user can reach keeps the cluster inside it
    expect(state().clusterDir).toBe(path.join(stateDir, 'embedded'));
    expect(postmasterPid()).not.toBeNull();
    expect(watchdogPid()).not.toBeNull();
    expect(readFileSync(path.join(stateDir, '.gitignore'), 'utf8')).toContain('*');
  });

  it('keeps its state between commands, and the next command finds the server up', async () => {
    const server = postmasterPid();
    const watchdog = watchdogPid();
    const human = await runCli(['status'], { env });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).not.toContain('Starting the embedded');
    const status = parseJson<StatusReport>(await runCli(['status', '--json'], { env }));
    expect(status.database.kind).toBe('embedded');
    expect(status.applied.map((a) => a.name)).toEqual(MIGRATION_NAMES);
    expect(status.lastBackup?.strategy).toBe('template');
    expect(status.lastBackup?.verified).toBe(true);
    const again = parseJson<ApplyReport>(await runCli(['apply', '--json'], { env }));
    expect(again.pending).toEqual([]);
    expect(postmasterPid()).toBe(server);
    expect(watchdogPid()).toBe(watchdog);
  });

  it('stops once idle for DBKIT_EMBEDDED_IDLE, and the watchdog exits with it', async () => {
    const watchdog = watchdogPid();
    expect((await runCli(['status'], { env: withIdle('1s') })).code).toBe(0);
    await waitFor('the idle cluster to stop', () => postmasterPid() === null);
    await waitFor('the watchdog to exit', () => !alive(watchdog!));
    expect(watchdogLog()).toMatch(/stopped the cluster after [\d.]+ s without use \(idle time 1\.00 s\)/);
  });

  it('stays up while a client session is open, and stops once it closes', async () => {
    const started = await runCli(['status'], { env });
    expect(started.stdout).toContain('Starting the embedded PostgreSQL 17 cluster');
    const url = (await runCli(['db', 'url', '--show-password'], { env })).stdout.trim();
    const client = await connect(url);
    try {
      // The session is open before the idle time is shortened; then well past it.
      expect((await runCli(['status'], { env: withIdle('1s') })).code).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(postmasterPid()).not.toBeNull();
      expect(watchdogPid()).not.toBeNull();
    } finally {
      await client.end();
    }
    await waitFor('the cluster to stop once the session closed', () => postmasterPid() === null);
  });

  it('a command killed with SIGKILL leaves nothing running after the idle time', async () => {
    const cluster = pathToFileURL(path.join(ROOT, 'dist', 'src', 'embedded', 'cluster.js')).href;
    const code = `import { acquireEmbedded } from ${JSON.stringify(cluster)};
      await acquireEmbedded(${JSON.stringify(stateDir)}, { idleMs: 1000 });
      process.stdout.write('leased\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('leased') && resolve());
      child.on('exit', (exit) => reject(new Error(`the leasing process exited early (${exit})`)));
    });
    expect(postmasterPid()).not.toBeNull();
    child.kill('SIGKILL');
    await waitFor('the watchdog to stop the cluster of the killed command', () => postmasterPid() === null);
  });

  it('a killed watchdog is replaced by the next command', async () => {
    expect((await runCli(['status'], { env })).code).toBe(0);
    const first = watchdogPid();
    expect(first).not.toBeNull();
    process.kill(first!, 'SIGKILL');
    await waitFor('the watchdog to die', () => !alive(first!));
    expect((await runCli(['status'], { env })).code).toBe(0);
    const second = watchdogPid();
    expect(second).not.toBeNull();
    expect(second).not.toBe(first);
  });

  it('DBKIT_EMBEDDED_IDLE=0 stops the cluster when the command is done, watchdog included', async () => {
    const watchdog = watchdogPid();
    expect((await runCli(['status'], { env: withIdle('0') })).code).toBe(0);
    expect(postmasterPid()).toBeNull();
    expect(watchdogPid()).toBeNull();
    await waitFor('the dismissed watchdog to exit', () => watchdog === null || !alive(watchdog));
    const again = await runCli(['status'], { env: withIdle('0') });
    expect(again.stdout).toContain('Starting the embedded PostgreSQL 17 cluster');
    expect(postmasterPid()).toBeNull();
    expect(watchdogPid()).toBeNull();
  });

  it('db url redacts the password unless asked; db start keeps it running until db stop, which stops it now', async () => {
    const url = await runCli(['db', 'url'], { env });
    expect(url.code).toBe(0);
    expect(url.stdout.trim()).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/dbkit$/);
    const shown = await runCli(['db', 'url', '--show-password'], { env });
    expect(shown.stdout).toContain(encodeURIComponent(state().password));

    expect((await runCli(['status'], { env })).code).toBe(0);
    const watchdog = watchdogPid();
    expect(watchdog).not.toBeNull();
    expect((await runCli(['db', 'start'], { env })).code).toBe(0);
    // persistent: the watchdog leaves, and a command run meanwhile does not start another or stop the server
    await waitFor('the watchdog to leave a persistent cluster', () => !alive(watchdog!));
    expect((await runCli(['status'], { env: withIdle('0') })).code).toBe(0);
    expect(postmasterPid()).not.toBeNull();
    expect(watchdogPid()).toBeNull();
    const stop = await runCli(['db', 'stop'], { env });
    expect(stop.stdout).toContain('Embedded cluster stopped');
    expect(postmasterPid()).toBeNull();
  });

  it('db reset refuses without confirmation outside a terminal, and deletes with --yes, leaving no process behind', async () => {
    expect((await runCli(['status'], { env })).code).toBe(0);
    const server = postmasterPid();
    const watchdog = watchdogPid();
    expect(server).not.toBeNull();
    expect(watchdog).not.toBeNull();
    const refused = await runCli(['db', 'reset'], { env });
    expect(refused.code).toBe(14);
    expect(refused.stderr).toContain('pass --yes');
    expect(existsSync(path.join(stateDir, 'embedded.json'))).toBe(true);
    const reset = await runCli(['db', 'reset', '--yes'], { env });
    expect(reset.code).toBe(0);
    expect(existsSync(path.join(stateDir, 'embedded.json'))).toBe(false);
    expect(alive(server!)).toBe(false);
    expect(alive(watchdog!)).toBe(false);
    const missing = await runCli(['db', 'url'], { env });
    expect(missing.code).toBe(15);
  });
});
