/**
 * The dbkit command line: registers one command per file and turns every error into a message
 * and a documented exit code, in one place.
 */
import { Command, CommanderError } from 'commander';
import { DbkitError, ERROR_CODES } from './errors.js';
import { errorDocument, printError } from './output/errors.js';
import { registerApply } from './commands/apply.js';
import { registerStatus } from './commands/status.js';
import { registerDb } from './commands/db.js';
import { registerBackups } from './commands/backups.js';
import { registerSync } from './commands/sync.js';
import { registerVerify } from './commands/verify.js';
import { registerTree } from './commands/tree.js';
import { registerMonitor } from './commands/monitor.js';
import { registerRlsAudit } from './commands/rls-audit.js';
import { registerTest } from './commands/test.js';
import { registerRollback } from './commands/rollback.js';
import { registerBackup } from './commands/backup.js';
import { registerRestore } from './commands/restore.js';
import { registerLint } from './commands/lint.js';
import { registerRehearse } from './commands/rehearse.js';

import { dbkitVersion } from './version.js';
import { runInterruptCleanups } from './core/interrupt.js';

export function buildProgram(): Command {
  const program = new Command('dbkit')
    .description('Postgres-first migrations and Row-Level Security: apply, audit, roll back, back up and restore, against a real PostgreSQL.')
    .version(dbkitVersion(), '-V, --version')
    .option('--db <url>', 'PostgreSQL 15+ URL [env DATABASE_URL; default: the embedded PostgreSQL 17 under .dbkit/]')
    .option('--config <file>', 'config file [default: ./dbkit.config.json when present]')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (text, write) => write(text) });
  registerApply(program);
  registerStatus(program);
  registerRollback(program);
  registerBackup(program);
  registerBackups(program);
  registerRestore(program);
  registerLint(program);
  registerRehearse(program);
  registerRlsAudit(program);
  registerTest(program);
  registerSync(program);
  registerVerify(program);
  registerTree(program);
  registerMonitor(program);
  registerDb(program);
  program.addHelpText('after', `\nExit codes:\n${Object.entries(ERROR_CODES).map(([code, { exit }]) => `  ${String(exit).padStart(3)}  ${code}`).join('\n')}\n  (0 = success; meanings in README.md, "Exit codes")\n\nExample:\n  $ npx dbkit apply`);
  return program;
}

function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json');
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const onSignal = (signal: NodeJS.Signals) => {
    const doc = errorDocument(
      new DbkitError('INTERRUPTED', `interrupted by ${signal}: the transaction in progress (a migration, a course) is rolled back by the server; everything committed before it stays`, {
        hint: 'run dbkit status (or dbkit verify for courses) to see where it stands',
      }),
    );
    if (wantsJson(argv)) process.stdout.write(`${JSON.stringify({ ok: false, error: doc }, null, 2)}\n`);
    else printError(doc);
    // Disposable resources (a rehearsal's scratch database) are dropped before exiting.
    void runInterruptCleanups(15_000).finally(() => process.exit(doc.exitCode));
  };
  // `dbkit status | head` closes the pipe early: stop writing, finish the work, exit normally.
  const ignoreClosedPipe = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  };
  process.stdout.on('error', ignoreClosedPipe);
  process.stderr.on('error', ignoreClosedPipe);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      if (error.exitCode === 0) return 0;
      if (wantsJson(argv)) process.stdout.write(`${JSON.stringify({ ok: false, error: errorDocument(new DbkitError('USAGE', error.message.replace(/^error: /, ''))) }, null, 2)}\n`);
      return ERROR_CODES.USAGE.exit;
    }
    const doc = errorDocument(error);
    if (wantsJson(argv)) process.stdout.write(`${JSON.stringify({ ok: false, error: doc }, null, 2)}\n`);
    else printError(doc);
    if (doc.code === 'INTERNAL' && process.env.DBKIT_DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    return doc.exitCode;
  }
}
