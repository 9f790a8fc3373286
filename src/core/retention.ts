/**
 * Which backups to prune: per database, keep the N newest verified ones (and any the caller
 * protects, such as the backup a restore is reading); everything older, and every unverified
 * (failed) attempt, goes. Pure: the I/O is in backup/prune.ts.
 */

export interface RetainableBackup {
  id: string;
  createdAt: string;
  verified: boolean;
  source: { kind: string; url: string; database: string };
}

/**
 * The database a backup belongs to. External databases are told apart by their redacted URL
 * (user, host, port, database); the embedded cluster's port may change between runs, so there the
 * database name is enough (one embedded cluster per state dir).
 */
export function backupGroupKey(source: RetainableBackup['source']): string {
  return source.kind === 'embedded' ? `embedded:${source.database}` : `${source.kind}:${source.url}`;
}

export function selectPrunable<B extends RetainableBackup>(backups: readonly B[], group: string, keep: number, protect: readonly string[] = []): B[] {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number >= 1 (got ${keep})`);
  const mine = backups.filter((b) => backupGroupKey(b.source) === group).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
  const kept = new Set(mine.filter((b) => b.verified).slice(0, keep).map((b) => b.id));
  return mine.filter((b) => !kept.has(b.id) && !protect.includes(b.id));
}
