/**
 * The backup step that apply, backup, rollback and restore share: a verified backup taken while
 * holding the migration lock, and how a report names it.
 */
import type { Reporter } from '../output/terminal.js';
import type { LockedSession } from '../migrations/session.js';
import { takeBackup, type TakeBackupOptions } from '../backup/take.js';
import type { BackupManifest } from '../backup/manifest.js';
import { describePrune, type PruneResult } from '../backup/prune.js';
import { describeLeftovers, type Leftover } from '../backup/leftovers.js';
import { formatBytes } from '../core/duration.js';

export interface BackupSummary {
  id: string;
  strategy: BackupManifest['strategy'];
  location: BackupManifest['location'];
  sizeBytes: number;
  verified: boolean;
  verification: string;
  durationMs: number;
}

export function backupSummary(m: BackupManifest): BackupSummary {
  return { id: m.id, strategy: m.strategy, location: m.location, sizeBytes: m.sizeBytes, verified: m.verified, verification: m.verification.detail, durationMs: m.durationMs };
}

export function describeBackup(m: BackupManifest): string {
  const where = m.location.kind === 'file' ? 'pg_dump archive' : `copy ${m.location.database}`;
  return `${m.id} (${where}, ${formatBytes(m.sizeBytes)}): ${m.verification.detail}`;
}

export interface SessionBackup {
  manifest: BackupManifest;
  pruned: PruneResult | null;
}

/**
 * Takes a verified backup while holding the migration lock. A template copy needs the database
 * to itself, so the session's own connection steps aside meanwhile (its outer lock stays).
 */
export async function backupInSession(session: LockedSession, options: Omit<TakeBackupOptions, 'onPruned' | 'onLeftovers'>, reporter: Reporter): Promise<SessionBackup> {
  const step = reporter.step('backup');
  let pruned: PruneResult | null = null;
  const onLeftovers = (leftovers: Leftover[]) => reporter.warn(`${describeLeftovers(leftovers)}: dbkit backups lists them, dbkit backups --keep N removes them`);
  const take = () => takeBackup({ ...options, onPruned: (result) => (pruned = result), onLeftovers });
  let manifest: BackupManifest;
  try {
    manifest = options.plan.strategy === 'template' ? await session.withoutTargetConnection(take) : await take();
  } catch (error) {
    step.fail();
    throw error;
  }
  step.done(describeBackup(manifest));
  if (pruned) reporter.info(`    keep ${options.config.keepBackups}: ${describePrune(pruned)}`);
  return { manifest, pruned };
}
