/**
 * Runs SQL through the real psql, the way an operator pastes a reproduction: connection details
 * (and any password) go through the environment, never argv. Without ON_ERROR_STOP, as pasted.
 */
import { spawn } from 'node:child_process';

export interface PsqlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runPsql(url: string, sql: string): Promise<PsqlResult> {
  const u = new URL(url);
  const env = {
    ...process.env,
    PGHOST: decodeURIComponent(u.hostname) || '127.0.0.1',
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
    PGOPTIONS: '',
  };
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-f', '-'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(sql);
  });
}
