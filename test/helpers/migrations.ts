/**
 * Scratch copies of the migrations folder, for tests that edit, add or remove migrations.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, ROOT, runCli } from './cli.ts';

export const MIGRATIONS_DIR = path.join(ROOT, 'migrations');
export const MIGRATION_NAMES = readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

/**
 * A copy of the project's migrations/ (with support/ and policies/ beside it, as the imports
 * expect), keeping only the first `count` migrations when given. The copies import dbkit's public
 * API (`dbkit/migrate`) as a project's migrations do: node_modules/dbkit links to this checkout.
 */
export function copyMigrations(options: { count?: number } = {}): { root: string; dir: string; file(name: string): string; add(name: string, source: string): void; cleanup(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dbkit-migrations-'));
  cpSync(path.join(ROOT, 'migrations'), path.join(root, 'migrations'), { recursive: true });
  cpSync(path.join(ROOT, 'policies'), path.join(root, 'policies'), { recursive: true });
  mkdirSync(path.join(root, 'node_modules'));
  symlinkSync(ROOT, path.join(root, 'node_modules', 'dbkit'), 'dir');
  const dir = path.join(root, 'migrations');
  if (options.count !== undefined) for (const name of MIGRATION_NAMES.slice(options.count)) rmSync(path.join(dir, `${name}.ts`));
  return {
    root,
    dir,
    file: (name) => path.join(dir, `${name}.ts`),
    add: (name, source) => writeFileSync(path.join(dir, `${name}.ts`), source),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Applies only the Supabase compatibility migration (roles, auth.uid() and friends), the ground a
 * test schema of its own needs: for tests whose fixture is not CreatorOS.
 */
export async function applySupabaseCompat(url: string): Promise<void> {
  const compat = copyMigrations({ count: 1 });
  try {
    const applied = await runCli(['apply', '--db', url, '--no-backup', '--migrations-dir', compat.dir], { env: cleanEnv() });
    if (applied.code !== 0) throw new Error(`applying the compatibility migration failed (exit ${applied.code}): ${applied.stderr}`);
  } finally {
    compat.cleanup();
  }
}
