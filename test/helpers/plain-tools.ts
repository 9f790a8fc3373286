/**
 * The plain tools dbkit adopts from, run as a team runs them: the real node-pg-migrate CLI (from
 * node_modules), and the Supabase CLI's way of applying a migration file (RESET ALL, the file's
 * statements in one implicit transaction, then its history row), reproduced for a fixture whose
 * statements are known.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { withClient } from '../../src/db/scoped.ts';
import { ROOT } from './cli.ts';

export const NODE_PG_MIGRATE_BIN = path.join(ROOT, 'node_modules', 'node-pg-migrate', 'bin', 'node-pg-migrate.js');

export interface PlainResult {
  code: number | null;
  output: string;
}

/** `node-pg-migrate <args>` with DATABASE_URL in its environment (never on the command line). */
export function nodePgMigrate(url: string, args: string[], cwd: string): Promise<PlainResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, DATABASE_URL: url };
    const child = spawn(process.execPath, [NODE_PG_MIGRATE_BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

export interface SupabaseFile {
  version: string;
  name: string;
  /** The file's statements, as the CLI splits and trims them. */
  statements: string[];
}

/** The file a fixture writes for these statements. */
export const supabaseFileText = (file: SupabaseFile) => `${file.statements.join(';\n\n')};\n`;

/**
 * What `supabase db push` / `supabase migration up` does for each pending file (supabase/cli
 * pkg/migration: CreateMigrationTable, then per file RESET ALL and ExecBatch: the statements and
 * the history INSERT in one implicit transaction).
 */
export async function applyLikeSupabaseCli(url: string, files: readonly SupabaseFile[]): Promise<void> {
  await withClient(url, {}, async (client) => {
    await client.query(
      `SET lock_timeout = '4s'; CREATE SCHEMA IF NOT EXISTS supabase_migrations; CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY);
       ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]; ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text`,
    );
    for (const file of files) {
      await client.query('RESET ALL');
      await client.query('BEGIN');
      try {
        for (const statement of file.statements) await client.query(statement);
        await client.query('INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES ($1, $2, $3)', [file.version, file.name, file.statements]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    }
  });
}
