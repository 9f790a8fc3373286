/**
 * dbkit rehearse: run the pending migrations on a disposable copy of the target and report, per
 * migration, the locks each statement takes and how long, rewrites, full scans, durations on real
 * row counts and (--traffic) the stalls readers and writers see. The work is in src/rehearse/.
 */
import { Option, type Command } from 'commander';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { runtimeFor, settingOption } from '../runtime.js';
import { COPY_SOURCES, type CopySource } from '../rehearse/copy.js';
import { rehearseOn, type RehearseOptions, type RehearseReport } from '../rehearse/rehearse.js';

export type { RehearseReport } from '../rehearse/rehearse.js';

export async function rehearse(config: ResolvedConfig, options: Omit<RehearseOptions, 'thresholds'>, reporter: Reporter): Promise<RehearseReport> {
  if (options.onTarget && options.traffic) {
    throw new DbkitError('USAGE', '--traffic cannot be used with --on-target: its writer loops would write to the real database', { hint: 'rehearse on a copy (the default) to measure stalls' });
  }
  return withDatabaseTarget(config, reporter, (target) => rehearseOn(config, target, { ...options, thresholds: config.rehearseFailOn }, reporter));
}

export function registerRehearse(program: Command): void {
  const command = program
    .command('rehearse')
    .description('Run the pending migrations on a disposable copy and measure what they do to traffic: locks (mode x table, how long), rewrites, full scans, durations, stalls.')
    .addOption(new Option('--from <source>', 'the copy: auto (template copy of the target when nobody else is connected, else the latest verified backup), template, backup').choices(COPY_SOURCES).default('auto'))
    .option('--traffic', 'run a reader and a writer loop on every table each migration touches and report the longest stall of each', false)
    .option('--on-target', 'rehearse on the target itself, inside one transaction that is rolled back (its locks are real: traffic stalls meanwhile)', false);
  for (const name of ['rehearseFailOn', 'migrationsDir', 'backupDir', 'lockTimeout', 'lockWait', 'statementTimeout'] as const) settingOption(command, name);
  command
    .option('--json', 'print one JSON document: { migrations: [{ statements: [{ locks, rewrites, scans, lint, advice }] }], breaches, ... }')
    .addHelpText(
      'after',
      '\nExamples:\n  $ npx dbkit rehearse\n  $ npx dbkit rehearse --traffic --fail-on "blocking-writes>500ms,rewrite"\n  $ DATABASE_URL=postgres://... npx dbkit rehearse --from backup --json',
    )
    .action(async (opts: { from: CopySource; traffic: boolean; onTarget: boolean }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const report = await rehearse(runtime.config, { from: opts.from, traffic: opts.traffic, onTarget: opts.onTarget }, runtime.reporter);
      runtime.finish(report, () => {});
    });
}
