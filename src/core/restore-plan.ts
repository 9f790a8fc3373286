/**
 * Pure pieces of dbkit restore: the name of the new database, which pg_restore can read an
 * archive into a server, and the proof that a restored database equals what the manifest recorded.
 */
import { DbkitError } from '../errors.js';

export interface RecordedFacts {
  fingerprint: string;
  rowCounts: Record<string, number>;
  /** Per-table content checksums; compared only when the manifest recorded them. */
  contentChecksums?: Record<string, string> | null;
}

export interface FactsComparison {
  ok: boolean;
  fingerprintMatches: boolean;
  /** Tables whose row count differs ("missing" when absent on one side). */
  mismatches: { table: string; expected: number | null; found: number | null }[];
  /** Tables whose content checksum differs from the recorded one (same row count, other rows). */
  contentMismatches: string[];
  tables: number;
  rows: number;
  detail: string;
}

export function compareFacts(expected: RecordedFacts, found: RecordedFacts): FactsComparison {
  const tables = [...new Set([...Object.keys(expected.rowCounts), ...Object.keys(found.rowCounts)])].sort();
  const mismatches = tables
    .filter((t) => expected.rowCounts[t] !== found.rowCounts[t])
    .map((t) => ({ table: t, expected: expected.rowCounts[t] ?? null, found: found.rowCounts[t] ?? null }));
  const fingerprintMatches = expected.fingerprint === found.fingerprint;
  const recorded = expected.contentChecksums ?? null;
  const contentMismatches = recorded ? Object.keys(recorded).sort().filter((t) => found.contentChecksums?.[t] !== recorded[t] && found.rowCounts[t] === expected.rowCounts[t]) : [];
  const rows = Object.values(found.rowCounts).reduce((a, b) => a + b, 0);
  const problems: string[] = [];
  if (!fingerprintMatches) problems.push('the schema fingerprint differs from the one recorded at backup time');
  if (mismatches.length > 0) {
    const shown = mismatches.slice(0, 3).map((m) => `${m.table}: ${m.found ?? 'missing'} rows, ${m.expected ?? 'none'} recorded`);
    problems.push(`row counts differ for ${mismatches.length} table(s): ${shown.join('; ')}${mismatches.length > 3 ? ` (+${mismatches.length - 3} more)` : ''}`);
  }
  if (contentMismatches.length > 0) {
    problems.push(`the content of ${contentMismatches.length} table(s) differs from the checksum recorded at backup time: ${contentMismatches.slice(0, 3).join(', ')}${contentMismatches.length > 3 ? ` (+${contentMismatches.length - 3} more)` : ''}`);
  }
  return {
    ok: problems.length === 0,
    fingerprintMatches,
    mismatches,
    contentMismatches,
    tables: Object.keys(found.rowCounts).length,
    rows,
    detail:
      problems.length === 0
        ? `schema fingerprint${recorded ? ', row counts and content checksums' : ' and row counts'} of ${Object.keys(found.rowCounts).length} tables (${rows} rows) equal the manifest`
        : problems.join('; '),
  };
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function checkDatabaseName(name: string, flag = '--into'): void {
  if (!NAME_PATTERN.test(name) || Buffer.byteLength(name) > 63) {
    throw new DbkitError('USAGE', `${flag} ${JSON.stringify(name)} is not a usable database name`, { hint: 'use letters, digits, _ and -, starting with a letter or _, at most 63 characters' });
  }
}

/** e.g. backup 20261122T023743Z-shop-7225 of "shop" -> shop_restored_20261122t023743z_7225 */
export function defaultRestoreName(backupId: string, sourceDatabase: string): string {
  const stamp = backupId.toLowerCase().replace(/^(\d{8}t\d{6}z).*-([0-9a-f]{4})$/, '$1_$2').replace(/[^a-z0-9_]+/g, '_');
  const base = sourceDatabase.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z_]/, '_$&');
  const suffix = `_restored_${stamp}`;
  return `${base.slice(0, Math.max(1, 63 - suffix.length))}${suffix}`.slice(0, 63);
}

/** The pg_restore major version an archive needs: at least its pg_dump's, and the server's. */
export function requiredRestoreMajor(tool: string | null, serverVersionNum: number): number {
  const match = /(\d+)(?:\.\d+)?/.exec(tool ?? '');
  const archiveMajor = match ? Number(match[1]) : 0;
  return Math.max(archiveMajor, Math.floor(serverVersionNum / 10_000));
}
