import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../src/backup/manifest-schema.ts';
import { backupDatabaseName, backupMarker, classifyBackupFile, markerMatches, newBackupId, parseMarker, slugOfId } from '../../../src/backup/names.ts';

const id = '20261122T023743Z-shop-7225';
const base = {
  formatVersion: 1,
  id,
  createdAt: '2026-11-22T02:37:43.000Z',
  reason: 'on demand',
  strategy: 'pg_dump',
  source: { database: 'shop', url: 'postgres://u:***@db:5432/shop', kind: 'external' },
  server: { version: '15.2', versionNum: 150002 },
  migrations: ['a'],
  location: { kind: 'file', file: `${id}.dump` },
  sizeBytes: 10,
  checksum: 'a'.repeat(64),
  fingerprint: 'f',
  rowCounts: { 'public.t': 1 },
  verified: true,
  verification: { method: 'm', durationMs: 1, detail: 'd' },
  durationMs: 2,
  tool: 'pg_dump 15.2',
};
const parse = (m: unknown) => parseManifest(JSON.stringify(m));

describe('parseManifest', () => {
  it('accepts a manifest of an older dbkit and fills the new fields with their defaults', () => {
    const result = parse(base);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.manifest).toMatchObject({ status: 'done', writer: null, contentChecksums: null, source: { systemIdentifier: null } });
  });
  it.each([
    ['an archive outside the folder', { location: { kind: 'file', file: '../victim.txt' } }, 'location.file: must be'],
    ['an absolute archive path', { location: { kind: 'file', file: '/etc/passwd' } }, 'location.file: must be'],
    ['another archive name', { location: { kind: 'file', file: 'other.dump' } }, 'location.file: must be'],
    ['any database', { strategy: 'template', location: { kind: 'database', database: 'production' } }, 'location.database: must be "dbkit_bk_'],
    ['an id that is a path', { id: '../../etc/x' }, 'id: not an id dbkit generates'],
    ['a location that does not fit the strategy', { strategy: 'template' }, 'location: does not fit strategy template'],
    ['a negative row count', { rowCounts: { 'public.t': -1 } }, 'rowCounts.public.t'],
    ['a wrong type', { verified: 'yes' }, 'verified'],
    ['content checksums without their key', { contentChecksums: { 'public.t': '-12' } }, 'contentChecksumKey: is missing'],
  ])('refuses %s', (_label, change, message) => {
    const result = parse({ ...base, ...change });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(message);
  });
  it('refuses text that is not JSON', () => {
    expect(parseManifest('{"formatVersion":1,')).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
  });
  it('accepts a template copy named after its id', () => {
    expect(parse({ ...base, strategy: 'template', location: { kind: 'database', database: backupDatabaseName(id) }, checksum: null }).ok).toBe(true);
  });
});

describe('backup names and markers', () => {
  it('ids carry the database slug; files are classified by name alone', () => {
    const fresh = newBackupId('My Shop!', new Date('2026-11-22T02:37:43.123Z'));
    expect(fresh).toMatch(/^20261122T023743Z-my-shop-[0-9a-f]{4}$/);
    expect(slugOfId(fresh)).toBe('my-shop');
    expect(classifyBackupFile(`${id}.dump.partial`)).toEqual({ kind: 'partial', id });
    expect(classifyBackupFile(`${id}.json.tmp`)).toEqual({ kind: 'manifest-tmp', id });
    expect(classifyBackupFile('notes.json')).toBeNull();
    expect(classifyBackupFile('../x.dump')).toBeNull();
  });
  it('a marker names its backup and folder; an older marker without a folder still names its backup', () => {
    const marker = backupMarker(id, 'shop', 'before apply', 'abcdef012345');
    expect(parseMarker(marker)).toEqual({ id, folderTag: 'abcdef012345' });
    expect(markerMatches(marker, id)).toBe(true);
    expect(markerMatches(marker, '20261122T023743Z-shop-0000')).toBe(false);
    expect(parseMarker(`dbkit backup ${id} of shop (on demand)`)).toEqual({ id, folderTag: null });
    expect(parseMarker('my own database')).toBeNull();
    expect(parseMarker(null)).toBeNull();
  });
});
