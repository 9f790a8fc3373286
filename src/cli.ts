/**
 * The dbkit command line: registers one command per file and turns every error into a message
 * and a documented exit code, in one place.
 */
import { Command, CommanderError } from 'commander';
import { DbkitError, ERROR_CODES } from './errors.js';
import { errorDocument, printError } from './output/errors.js';
import { dbkitVersion } from './version.js';

type Registrar = (program: Command) => void;

/**
 * Every command, by name, loaded only when it runs: `dbkit status` imports status's modules and
 * not the audit, course or backup code of the others (see README, "Benchmarks": bench:cli).
 * `dbkit --help` (and an unknown command, for "Did you mean") loads them all.
 */
export const COMMANDS: Record<string, () => Promise<Registrar>> = {
  apply: async () => (await import('./commands/apply.js')).registerApply,
  status: async () => (await import('./commands/status.js')).registerStatus,
  rollback: async () => (await import('./commands/rollback.js')).registerRollback,
  backup: async () => (await import('./commands/backup.js')).registerBackup,
  backups: async () => (await import('./commands/backups.js')).registerBackups,
  restore: async () => (await import('./commands/restore.js')).registerRestore,
  'rls-audit': async () => (await import('./commands/rls-audit.js')).registerRlsAudit,
  test: async () => (await import('./commands/test.js')).registerTest,
  sync: async () => (await import('./commands/sync.js')).registerSync,
  verify: async () => (await import('./commands/verify.js')).registerVerify,
  tree: async () => (await import('./commands/tree.js')).registerTree,
  monitor: async () => (await import('./commands/monitor.js')).registerMonitor,
  db: async () => (await import('./commands/db.js')).registerDb,
};

/** The program with every command, or only those named (in the order of COMMANDS). */
export async function buildProgram(only?: readonly string[]): Promise<Command> {
  const program = new Command('dbkit')
    .description('Postgres-first migrations and Row-Level Security: apply, audit, roll back, back up and restore, against a real PostgreSQL.')
    .version(dbkitVersion(), '-V, --version')
    .option('--db <url>', 'PostgreSQL 15+ URL [env DATABASE_URL; default: the embedded PostgreSQL 17 under .dbkit/]')
    .option('--config <file>', 'config file [default: ./dbkit.config.json when present]')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (text, write) => write(text) });
  const names = Object.keys(COMMANDS).filter((name) => !only || only.includes(name));
  const registrars = await Promise.all(names.map((name) => COMMANDS[name]!()));
  for (const register of registrars) register(program);
  program.addHelpText('after', `\nExit codes:\n${Object.entries(ERROR_CODES).map(([code, { exit }]) => `  ${String(exit).padStart(3)}  ${code}`).join('\n')}\n  (0 = success; meanings in README.md, "Exit codes")\n\nExample:\n  $ npx dbkit apply`);
  return program;
}

/** The options of the program itself that take a value (their value is not a command name). */
const GLOBAL_VALUE_OPTIONS = ['--db', '--config'];

/** Which commands a command line needs: the one it names; none for --version; all otherwise. */
export function commandsFor(args: readonly string[]): readonly string[] | undefined {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (GLOBAL_VALUE_OPTIONS.includes(arg)) {
      i += 1;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return Object.hasOwn(COMMANDS, arg) ? [arg] : undefined;
  }
  const help = args.length === 0 || args.some((a) => a === '-h' || a === '--help');
  return help ? undefined : [];
}

function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json');
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(commandsFor(argv.slice(2)));
  const onSignal = (signal: NodeJS.Signals) => {
    const doc = errorDocument(
      new DbkitError('INTERRUPTED', `interrupted by ${signal}: the transaction in progress (a migration, a course) is rolled back by the server; everything committed before it stays`, {
        hint: 'run dbkit status (or dbkit verify for courses) to see where it stands',
      }),
    );
    if (wantsJson(argv)) process.stdout.write(`${JSON.stringify({ ok: false, error: doc }, null, 2)}\n`);
    else printError(doc);
    process.exit(doc.exitCode);
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
