/**
 * dbkit db url|start|stop|reset: the embedded PostgreSQL 17 cluster that dbkit uses when no
 * DATABASE_URL is given.
 */
import type { Command } from 'commander';
import path from 'node:path';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import { redactUrl } from '../core/redact.js';
import { acquireEmbedded, destroyEmbedded, embeddedUrl, isRunning, logFileOf, readState, stopEmbedded } from '../embedded/cluster.js';
import { confirm } from '../output/confirm.js';
import { listManifests } from '../backup/manifest.js';
import { controlFileSystemIdentifier, forgetClusterCopies } from '../backup/prune.js';
import { runtimeFor } from '../runtime.js';

export interface EmbeddedInfo {
  exists: boolean;
  running: boolean;
  url: string | null;
  port: number | null;
  dataDir: string | null;
}

export function embeddedInfo(config: ResolvedConfig, showPassword = false): EmbeddedInfo {
  const state = readState(config.stateDir);
  if (!state) return { exists: false, running: false, url: null, port: null, dataDir: null };
  const url = embeddedUrl(state);
  return { exists: true, running: isRunning(state), url: showPassword ? url : redactUrl(url), port: state.port, dataDir: path.join(state.clusterDir, 'pg') };
}

export async function startEmbedded(config: ResolvedConfig): Promise<EmbeddedInfo> {
  const lease = await acquireEmbedded(config.stateDir, { port: config.embeddedPort, persistent: true });
  await lease.release();
  return embeddedInfo(config);
}

export function registerDb(program: Command): void {
  const db = program.command('db').description('Manage the embedded PostgreSQL 17 cluster (used when no DATABASE_URL is given).');
  db.addHelpText('after', '\nExamples:\n  $ npx dbkit db start\n  $ psql "$(npx dbkit db url --show-password)"\n  $ npx dbkit db stop');

  db.command('url')
    .description('print the connection URL of the embedded cluster (password redacted unless --show-password)')
    .option('--show-password', 'print the real local password (it is a throwaway credential for this machine only)', false)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ npx dbkit db url')
    .action((opts: { showPassword: boolean }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const info = embeddedInfo(runtime.config, opts.showPassword);
      if (!info.exists) throw new DbkitError('NOT_FOUND', 'there is no embedded cluster yet', { hint: 'run dbkit db start (or any command without DATABASE_URL) to create it' });
      if (runtime.json) runtime.printJson({ command: 'db url', ...info });
      else process.stdout.write(`${info.url}\n`);
    });

  db.command('start')
    .description('start the embedded cluster and keep it running until dbkit db stop (created on first use)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ npx dbkit db start')
    .action(async (_opts: unknown, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      if (!readState(runtime.config.stateDir)) runtime.reporter.info('Creating the embedded PostgreSQL 17 cluster (first run only)...');
      const info = await startEmbedded(runtime.config);
      if (runtime.json) runtime.printJson({ command: 'db start', ...info });
      else runtime.reporter.info(`Embedded PostgreSQL 17 running at ${info.url} (data: ${info.dataDir}).`);
    });

  db.command('stop')
    .description('stop the embedded cluster now (its data stays); unless db start made it persistent, it also stops by itself once unused for DBKIT_EMBEDDED_IDLE (default 10m)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ npx dbkit db stop')
    .action(async (_opts: unknown, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const result = await stopEmbedded(runtime.config.stateDir);
      if (result.otherUsers.length > 0) runtime.reporter.warn(`dbkit processes ${result.otherUsers.join(', ')} were using the cluster`);
      if (runtime.json) runtime.printJson({ command: 'db stop', stopped: result.wasRunning });
      else runtime.reporter.info(result.wasRunning ? 'Embedded cluster stopped; its data is kept.' : 'The embedded cluster was not running.');
    });

  db.command('reset')
    .description('DELETE the embedded cluster and all its data (including the template-copy backups stored in it, whose manifests it removes); the next command creates a fresh one')
    .option('-y, --yes', 'do not ask for confirmation', false)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ npx dbkit db reset --yes')
    .action(async (opts: { yes: boolean }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      const state = readState(runtime.config.stateDir);
      if (!state) {
        if (runtime.json) runtime.printJson({ command: 'db reset', deleted: false });
        else runtime.reporter.info('There is no embedded cluster to reset.');
        return;
      }
      const dataDir = path.join(state.clusterDir, 'pg');
      const systemIdentifier = controlFileSystemIdentifier(dataDir);
      const inCluster = (await listManifests(runtime.config.backupDir)).filter(
        (m) => m.source.kind === 'embedded' && m.location.kind === 'database' && (systemIdentifier === null || m.source.systemIdentifier === null || m.source.systemIdentifier === systemIdentifier),
      );
      await confirm(
        `This deletes the embedded cluster at ${path.join(state.clusterDir, 'pg')} with all its databases` +
          (inCluster.length ? `, including ${inCluster.length} backup(s) stored inside it` : '') +
          '.',
        { yes: opts.yes },
      );
      const result = await destroyEmbedded(runtime.config.stateDir);
      const leftAlone = result.leftAlone ? { dir: result.leftAlone.dir, problem: result.leftAlone.problem } : null;
      // Their copies went with the cluster (or, left alone, are out of dbkit's reach): their manifests would otherwise still list them as verified.
      const forgotten = await forgetClusterCopies(runtime.config.backupDir, systemIdentifier);
      const copies = forgotten.length ? ` with the ${forgotten.length} template-copy backup(s) stored inside it (their manifests removed)` : '';
      if (runtime.json) runtime.printJson({ command: 'db reset', deleted: result.deleted, leftAlone, log: logFileOf(state), forgottenBackups: forgotten });
      else if (leftAlone) runtime.reporter.warn(`Embedded cluster forgotten${copies}. ${leftAlone.dir} was left untouched: ${leftAlone.problem}. The next dbkit command creates a fresh cluster.`);
      else runtime.reporter.info(`Embedded cluster deleted${copies}. The next dbkit command creates a fresh one.`);
    });
}
