/**
 * Pure planning for dbkit rollback: which applied migrations to revert, newest first, for a
 * selection (the last one, --count N, --to <migration>, --all), and whether each can be reverted.
 */
import { DbkitError } from '../errors.js';

export const ROLLBACK_SELECTION_KINDS = ['last', 'count', 'to', 'all'] as const;
export type RollbackSelectionKind = (typeof ROLLBACK_SELECTION_KINDS)[number];

export type RollbackSelection =
  | { kind: 'last' }
  | { kind: 'count'; count: number }
  /** Revert everything applied after `migration`, which stays applied. */
  | { kind: 'to'; migration: string }
  | { kind: 'all' };

export interface RollbackFlags {
  count?: string;
  to?: string;
  all?: boolean;
}

/** Turns the mutually exclusive flags into one selection; bad combinations are usage errors. */
export function parseRollbackSelection(flags: RollbackFlags): RollbackSelection {
  const given = [flags.count !== undefined && '--count', flags.to !== undefined && '--to', flags.all === true && '--all'].filter(Boolean);
  if (given.length > 1) throw new DbkitError('USAGE', `${given.join(' and ')} cannot be combined: pick one`, { hint: 'dbkit rollback (the last one), --count N, --to <migration> or --all' });
  if (flags.count !== undefined) {
    const text = flags.count.trim();
    if (!/^\d+$/.test(text) || Number(text) < 1) throw new DbkitError('USAGE', `--count: '${flags.count}' is not a whole number >= 1`, { hint: 'e.g. dbkit rollback --count 2' });
    return { kind: 'count', count: Number(text) };
  }
  if (flags.to !== undefined) {
    if (flags.to.trim() === '') throw new DbkitError('USAGE', '--to needs a migration name', { hint: 'e.g. dbkit rollback --to 20251028115000_creatoros-baseline' });
    return { kind: 'to', migration: flags.to.trim() };
  }
  return flags.all ? { kind: 'all' } : { kind: 'last' };
}

export function describeSelection(selection: RollbackSelection): string {
  switch (selection.kind) {
    case 'last':
      return 'the last applied migration';
    case 'count':
      return `the last ${selection.count} applied migration${selection.count === 1 ? '' : 's'}`;
    case 'to':
      return `every migration applied after ${selection.migration}`;
    case 'all':
      return 'every applied migration';
    default: {
      const unreachable: never = selection;
      throw new Error(`unknown selection ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Finds the migration a user named: its exact name, its file name, or a prefix (the timestamp)
 * that matches exactly one name.
 */
export function resolveMigrationName(input: string, names: readonly string[]): { name: string } | { ambiguous: string[] } | null {
  const bare = input.replace(/^.*[\\/]/, '').replace(/\.(ts|js|mjs|cjs|mts|cts)$/, '');
  if (names.includes(bare)) return { name: bare };
  const matches = [...new Set(names.filter((n) => n.startsWith(bare)))];
  if (matches.length === 1) return { name: matches[0]! };
  if (matches.length > 1) return { ambiguous: matches };
  return null;
}

export interface RollbackPlan {
  selection: RollbackSelection;
  /** Applied before the rollback, in the order they were applied. */
  applied: string[];
  /** What will be reverted, in the order it will be reverted (newest first). */
  toRevert: string[];
  /** Still applied afterwards. */
  remaining: string[];
}

/**
 * Plans a rollback. `applied` is the tracking table's order; `known` every migration with a file.
 * Asking for more than is applied, or for a target that is not applied, is an error: a rollback
 * that silently does less (or more) than asked is worse than none.
 */
export function planRollback(applied: readonly string[], known: readonly string[], selection: RollbackSelection): RollbackPlan {
  let keep: number;
  let resolved = selection;
  switch (selection.kind) {
    case 'last':
      keep = Math.max(0, applied.length - 1);
      break;
    case 'all':
      keep = 0;
      break;
    case 'count':
      if (selection.count > applied.length) {
        throw new DbkitError('ROLLBACK_TOO_FAR', `--count ${selection.count} asks to revert ${selection.count} migrations, but only ${applied.length} ${applied.length === 1 ? 'is' : 'are'} applied`, {
          hint: applied.length === 0 ? 'nothing is applied; dbkit status shows the state. Nothing was changed.' : `use --count ${applied.length} or --all to revert everything. Nothing was changed.`,
        });
      }
      keep = applied.length - selection.count;
      break;
    case 'to': {
      const found = resolveMigrationName(selection.migration, [...applied, ...known]);
      if (found && 'ambiguous' in found) {
        throw new DbkitError('USAGE', `--to ${selection.migration} matches ${found.ambiguous.length} migrations: ${found.ambiguous.join(', ')}`, { hint: 'give the full migration name' });
      }
      if (!found) {
        throw new DbkitError('NOT_FOUND', `--to ${selection.migration}: no migration has that name`, { hint: `applied: ${applied.join(', ') || 'none'}. Nothing was changed.` });
      }
      const index = applied.indexOf(found.name);
      if (index < 0) {
        throw new DbkitError('NOT_APPLIED', `--to ${found.name}: that migration is not applied, so there is nothing to roll back to`, {
          hint: `--to names the migration that stays applied; applied now: ${applied.join(', ') || 'none'}. Nothing was changed.`,
        });
      }
      keep = index + 1;
      resolved = { kind: 'to', migration: found.name };
      break;
    }
    default: {
      const unreachable: never = selection;
      throw new Error(`unknown selection ${JSON.stringify(unreachable)}`);
    }
  }
  return { selection: resolved, applied: [...applied], toRevert: applied.slice(keep).reverse(), remaining: applied.slice(0, keep) };
}

export interface RevertibleMigration {
  name: string;
  /** It has no down rollback can run: declared `down = false`, a down node-pg-migrate cannot infer, an up-only SQL migration. */
  irreversible: boolean;
  /** Why, in words (shown in the refusal). */
  why?: string;
}

/** A backup as the refusal needs it: what was applied when it was taken. */
export interface BackupRef {
  id: string;
  verified: boolean;
  /** Migrations applied when it was taken, in order. */
  migrations: readonly string[];
}

/**
 * The newest verified backup taken while `name` was not applied and everything applied was
 * applied before it too: restoring it returns to a state before `name`. `backups` newest first.
 */
export function backupBefore(name: string, applied: readonly string[], backups: readonly BackupRef[]): BackupRef | null {
  const index = applied.indexOf(name);
  const before = index < 0 ? applied : applied.slice(0, index);
  return backups.find((b) => b.verified && !b.migrations.includes(name) && b.migrations.length <= before.length && b.migrations.every((m, i) => before[i] === m)) ?? null;
}

/**
 * Every migration to revert must have a file and a down; checked before anything changes. A
 * migration without a down is refused with the backup to restore instead.
 */
export function assertRevertible(toRevert: readonly string[], migrations: readonly RevertibleMigration[], history: { applied: readonly string[]; backups: readonly BackupRef[] } = { applied: [], backups: [] }): void {
  const byName = new Map(migrations.map((m) => [m.name, m]));
  const missing = toRevert.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new DbkitError('PREFLIGHT_FAILED', `cannot revert ${missing.join(', ')}: ${missing.length === 1 ? 'its file is' : 'their files are'} gone from the migrations folder`, {
      hint: 'restore the file (git checkout) so its down can run, or restore a backup (dbkit restore). Nothing was changed.',
    });
  }
  const irreversible = toRevert.filter((name) => byName.get(name)?.irreversible);
  if (irreversible.length === 0) return;
  // toRevert is newest first: restoring to before the oldest irreversible one undoes them all.
  const oldest = irreversible.at(-1)!;
  const backup = backupBefore(oldest, history.applied, history.backups);
  const newer = toRevert.slice(0, toRevert.indexOf(irreversible[0]!));
  const restore = backup
    ? `restore the verified backup taken before ${oldest} was applied: dbkit restore ${backup.id} (into a new database; add --in-place to replace this one)`
    : `no verified dbkit backup was taken before ${oldest} was applied (dbkit backups lists them): restore one taken with other tools`;
  throw new DbkitError('PREFLIGHT_FAILED', `cannot revert ${irreversible.map((name) => `${name} (${byName.get(name)?.why ?? 'declared irreversible: export const down = false'})`).join(', ')}: rollback has no down to run`, {
    hint: `${restore}${newer.length > 0 ? `; or revert only what came after it: dbkit rollback --to ${irreversible[0]}` : ''}. Nothing was changed.`,
  });
}
