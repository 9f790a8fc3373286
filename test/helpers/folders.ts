/**
 * Scratch migration folders written by a test: a node-pg-migrate folder (`<root>/migrations`) or
 * a Supabase CLI folder (`<root>/supabase/migrations`), removed afterwards.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ScratchFolder {
  root: string;
  dir: string;
  write(name: string, text: string): void;
  remove(name: string): void;
  cleanup(): void;
}

export function scratchFolder(files: Record<string, string>, kind: 'node-pg-migrate' | 'supabase' = 'node-pg-migrate'): ScratchFolder {
  const root = mkdtempSync(path.join(os.tmpdir(), 'dbkit-folder-'));
  const dir = kind === 'supabase' ? path.join(root, 'supabase', 'migrations') : path.join(root, 'migrations');
  mkdirSync(dir, { recursive: true });
  const write = (name: string, text: string) => writeFileSync(path.join(dir, name), text);
  for (const [name, text] of Object.entries(files)) write(name, text);
  return {
    root,
    dir,
    write,
    remove: (name) => rmSync(path.join(dir, name), { force: true }),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
