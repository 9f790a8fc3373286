/**
 * Where the database comes from: the URL the user gave, or the embedded cluster (started for the
 * duration of the command when it is not already running).
 */
import path from 'node:path';
import type { ResolvedConfig } from '../config.js';
import { redactUrl, secretsOf } from '../core/redact.js';
import { inSecretScope, registerSecrets, scrubError, withSecretScope } from '../output/secrets.js';
import type { Reporter } from '../output/terminal.js';
import { databaseNameOf, parseDatabaseUrl } from '../db/connect.js';
import type { DatabaseTarget } from '../db/target.js';
import { acquireEmbedded } from './cluster.js';

/**
 * Runs `fn` on the database the config names. The target's secrets are known (scrubbed from what
 * is printed) for the duration of the call; an error leaving a call that opened its own secret
 * scope (a library call) leaves scrubbed.
 */
export function withDatabaseTarget<T>(config: ResolvedConfig, reporter: Reporter, fn: (target: DatabaseTarget) => Promise<T>): Promise<T> {
  const opened = !inSecretScope();
  return withSecretScope(async () => {
    try {
      return await onTarget(config, reporter, fn);
    } catch (error) {
      throw opened ? scrubError(error) : error;
    }
  });
}

async function onTarget<T>(config: ResolvedConfig, reporter: Reporter, fn: (target: DatabaseTarget) => Promise<T>): Promise<T> {
  if (config.databaseUrl) {
    registerSecrets(secretsOf(config.databaseUrl));
    parseDatabaseUrl(config.databaseUrl);
    return fn({
      kind: 'external',
      url: config.databaseUrl,
      redactedUrl: redactUrl(config.databaseUrl),
      databaseName: databaseNameOf(config.databaseUrl),
      connectTimeoutMs: config.connectTimeoutMs,
    });
  }
  const where = path.relative(config.cwd, config.stateDir) || config.stateDir;
  const lease = await acquireEmbedded(config.stateDir, {
    port: config.embeddedPort,
    idleMs: config.embeddedIdleMs,
    onInit: () => reporter.info(`No DATABASE_URL given: creating the embedded PostgreSQL 17 cluster in ${where}/ (first run only).`),
    onStart: () => reporter.info(`Starting the embedded PostgreSQL 17 cluster (${where}/).`),
  });
  registerSecrets(secretsOf(lease.url));
  try {
    return await fn({
      kind: 'embedded',
      url: lease.url,
      redactedUrl: redactUrl(lease.url),
      databaseName: lease.state.database,
      connectTimeoutMs: config.connectTimeoutMs,
    });
  } finally {
    await lease.release();
  }
}
