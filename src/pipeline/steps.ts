/**
 * The pieces every schema-changing command (apply, rollback, backup, restore) assembles its run
 * from: a reported step that fails visibly when its work throws, and how the chosen backup is
 * named in the pre-flight line (the lock options are migrations/lock-options.ts).
 */
import type { Reporter } from '../output/terminal.js';
import type { BackupPlan } from '../backup/take.js';

/**
 * Runs `work` as the step `name`: done with `detail(result)` when it returns, failed when it
 * throws (the error propagates). The one place for what was `step.fail(); throw error;`.
 */
export async function inStep<T>(reporter: Reporter, name: string, work: () => Promise<T>, detail?: (result: T) => string | undefined): Promise<T> {
  const step = reporter.step(name);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    step.fail();
    throw error;
  }
  step.done(detail?.(result));
  return result;
}

/** '; backup by pg_dump 17.2' or '; backup by template copy' for the pre-flight line; '' without a backup. */
export function backupPlanNote(plan: BackupPlan | null): string {
  if (!plan) return '';
  return `; backup by ${plan.strategy === 'pg_dump' ? `pg_dump ${plan.dump.version}` : 'template copy'}`;
}
