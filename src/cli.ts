/**
 * The dbkit command line: registers one command per file and turns every error into a message
 * and a documented exit code, in one place.
 */
import { Command, CommanderError } from 'commander';
import { DbkitError, ERROR_CODES } from './errors.js';
import { errorDocument, printError } from './output/errors.js';
import { withSecretScope } from './output/secrets.js';
import { dbkitVersion } from './version.js';
import { runInterruptCleanups } from './core/interrupt.js';

type Registrar = (program: Command) => void;

interface CommandEntry {
  /** The one line `dbkit --help` lists (the command's own --help shows its full description). */
  summary: string;
  /** Its usage line, as commander derives it from the command's arguments (a test keeps them equal). */
  usage: string;
  load: () => Promise<Registrar>;
}

/**
 * Every command, by name, loaded only when it runs: `dbkit status` imports status's modules and
 * not the audit, course or backup code of the others, and `dbkit --help` lists the commands from
 * this table without loading any (see README, "Benchmarks": bench:cli).
 */
export const COMMANDS: Record<string, CommandEntry> = {
  init: { summary: 'Set up dbkit in an existing repository (config, policies/, tests-sql/, .env.example)', usage: '[options]', load: async () => (await import('./commands/init.js')).registerInit },
  apply: { summary: 'Apply pending migrations (verified backup first, one transaction each, validated)', usage: '[options]', load: async () => (await import('./commands/apply.js')).registerApply },
  status: { summary: 'Show migrations, drift, RLS, the last backup and validation (read-only)', usage: '[options]', load: async () => (await import('./commands/status.js')).registerStatus },
  rollback: { summary: 'Revert applied migrations (verified backup first, validated)', usage: '[options]', load: async () => (await import('./commands/rollback.js')).registerRollback },
  backup: { summary: 'Take a verified backup now', usage: '[options]', load: async () => (await import('./commands/backup.js')).registerBackup },
  backups: { summary: 'List the backups dbkit has taken', usage: '[options]', load: async () => (await import('./commands/backups.js')).registerBackups },
  restore: { summary: 'Restore a backup into a new database, or in place', usage: '[options] <backup-id>', load: async () => (await import('./commands/restore.js')).registerRestore },
  lint: { summary: 'Lint migrations with squawk, statement by statement (read-only)', usage: '[options] [files...]', load: async () => (await import('./commands/lint.js')).registerLint },
  rehearse: { summary: 'Rehearse pending migrations on a disposable copy: locks, rewrites, scans, stalls', usage: '[options]', load: async () => (await import('./commands/rehearse.js')).registerRehearse },
  'rls-audit': { summary: 'Find RLS holes and prove tenant isolation', usage: '[options]', load: async () => (await import('./commands/rls-audit.js')).registerRlsAudit },
  test: { summary: 'Run pgTAP test files (default: tests-sql/*.sql)', usage: '[options] [files...]', load: async () => (await import('./commands/test.js')).registerTest },
  sync: { summary: 'Import course folders into the database', usage: '[options] <course-dir...>', load: async () => (await import('./commands/sync.js')).registerSync },
  verify: { summary: 'Compare course folders with the database (read-only)', usage: '[options] <course-dir...>', load: async () => (await import('./commands/verify.js')).registerVerify },
  tree: { summary: "Show a project's course tree (read-only)", usage: '[options] <project-slug>', load: async () => (await import('./commands/tree.js')).registerTree },
  monitor: { summary: 'Report recent writes, hierarchy integrity and RLS status (read-only)', usage: '[options]', load: async () => (await import('./commands/monitor.js')).registerMonitor },
  minds: { summary: 'Create and list the minds courses are attributed to', usage: '[options] [command]', load: async () => (await import('./commands/minds.js')).registerMinds },
  db: { summary: 'Manage the embedded PostgreSQL 17 cluster (db start|stop|url|reset)', usage: '[options] [command]', load: async () => (await import('./commands/db.js')).registerDb },
};

/** What a command line needs registered: some commands (loaded), or only the listing of them all. */
export type Needed = { kind: 'commands'; names: readonly string[] } | { kind: 'listing' };

/** The program with every command (the default), the named ones, or the listing only (not runnable). */
export async function buildProgram(needed: Needed = { kind: 'commands', names: Object.keys(COMMANDS) }): Promise<Command> {
  const program = new Command('dbkit')
    .description('Postgres-first migrations and Row-Level Security: apply, audit, roll back, back up and restore, against a real PostgreSQL.')
    .version(dbkitVersion(), '-V, --version')
    .option('--db <url>', 'PostgreSQL 15+ URL [env DATABASE_URL; default: the embedded PostgreSQL 17 under .dbkit/]')
    .option('--config <file>', 'config file [default: ./dbkit.config.json when present]')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (text, write) => write(text) });
  // The listing's terms come from the table, loaded or not, so both ways print the same help.
  program.configureHelp({ subcommandTerm: (command) => `${command.name()} ${COMMANDS[command.name()]?.usage ?? command.usage()}` });
  if (needed.kind === 'listing') {
    for (const [name, entry] of Object.entries(COMMANDS)) program.command(name).summary(entry.summary);
  } else {
    const names = Object.keys(COMMANDS).filter((name) => needed.names.includes(name));
    const registrars = await Promise.all(names.map((name) => COMMANDS[name]!.load()));
    for (const register of registrars) register(program);
    for (const command of program.commands) command.summary(COMMANDS[command.name()]?.summary ?? command.summary());
  }
  program.addHelpText('after', `\nExit codes:\n${Object.entries(ERROR_CODES).map(([code, { exit }]) => `  ${String(exit).padStart(3)}  ${code}`).join('\n')}\n  (0 = success; meanings in README.md, "Exit codes")\n\nExample:\n  $ npx dbkit apply`);
  return program;
}

/** The options of the program itself that take a value (their value is not a command name). */
const GLOBAL_VALUE_OPTIONS = ['--db', '--config'];

/**
 * What a command line needs: the command it names (also after `help`); nothing for --version;
 * otherwise (--help, no command, an unknown one: commander lists or suggests) the listing.
 */
export function commandsFor(args: readonly string[]): Needed {
  const known = (name: string | undefined) => name !== undefined && Object.hasOwn(COMMANDS, name);
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (GLOBAL_VALUE_OPTIONS.includes(arg)) {
      i += 1;
      continue;
    }
    if (arg.startsWith('-')) continue;
    if (known(arg)) return { kind: 'commands', names: [arg] };
    if (arg === 'help' && known(args[i + 1])) return { kind: 'commands', names: [args[i + 1]!] };
    return { kind: 'listing' };
  }
  const versionOnly = args.some((a) => a === '-V' || a === '--version') && !args.some((a) => a === '-h' || a === '--help');
  return versionOnly ? { kind: 'commands', names: [] } : { kind: 'listing' };
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
  // One secret scope for the whole command, printing included (output/secrets.ts).
  return withSecretScope(() => run(program, argv));
}

async function run(program: Command, argv: readonly string[]): Promise<number> {
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
