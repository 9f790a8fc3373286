/**
 * The migration lock's options as the config sets them: every command that takes the lock (apply,
 * rollback, backup, restore, backups --keep, rehearse --on-target) builds them here.
 */
import type { ResolvedConfig } from '../config.js';
import type { Reporter } from '../output/terminal.js';
import type { LockOptions } from './session.js';

/** The migration lock as the config sets it; `exclusiveCopy` when the run copies the database (template backup). */
export function lockOptionsFor(config: ResolvedConfig, reporter: Reporter, exclusiveCopy: boolean): LockOptions {
  return { lockWaitMs: config.lockWaitMs, lockTimeoutMs: config.lockTimeoutMs, statementTimeoutMs: config.statementTimeoutMs, exclusiveCopy, reporter };
}
