/**
 * storage.objects, when the database has it (Supabase Storage): as tenant A, upload an object into
 * a bucket no policy names (a policy that checks the path but forgets bucket_id lets it in), and
 * into each bucket the policies name under tenant B's folder (B's user id, or B's group key, as
 * the first path segment). The buckets are created as the connecting role, inside the rollback.
 */
import { randomBytes } from 'node:crypto';
import type { MatrixCell } from '../matrix.js';
import { attack, type AttackEnv } from './probe.js';

const STORAGE_SQL = `
SELECT to_regclass('storage.objects') IS NOT NULL AND to_regclass('storage.buckets') IS NOT NULL AS present,
       coalesce((SELECT array_agg(a.attname::text) FROM pg_attribute a WHERE a.attrelid = to_regclass('storage.objects') AND a.attnum > 0 AND NOT a.attisdropped), '{}') AS columns,
       coalesce((SELECT array_agg(coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''))
                   FROM pg_policy p WHERE p.polrelid = to_regclass('storage.objects') AND p.polcmd IN ('a', '*')), '{}') AS checks`;

/** The buckets the INSERT policies of storage.objects name (bucket_id = '...'). Pure. */
export function namedBuckets(checks: readonly string[]): string[] {
  const out = new Set<string>();
  for (const c of checks) for (const m of c.matchAll(/bucket_id\s*=\s*'((?:[^']|'')+)'/g)) out.add(m[1]!.replaceAll("''", "'"));
  return [...out].sort();
}

export async function storageWrites(env: AttackEnv): Promise<MatrixCell[]> {
  const { client, seeder, tenancy } = env;
  const { rows } = await client.query<{ present: boolean; columns: string[]; checks: string[] }>(STORAGE_SQL);
  const info = rows[0];
  if (!info?.present) return [];
  const hasOwner = info.columns.includes('owner');
  const object = (bucket: string, folder: string) => ({
    sql: `INSERT INTO storage.objects (bucket_id, name${hasOwner ? ', owner' : ''}) VALUES ($1, $2${hasOwner ? ', $3::uuid' : ''})`,
    params: [bucket, `${folder}/dbkit-probe-${randomBytes(3).toString('hex')}.txt`, ...(hasOwner ? [seeder.uids.a] : [])],
  });
  const bucketRow = (id: string) => ({ sql: 'INSERT INTO storage.buckets (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', params: [id] });
  const cells: MatrixCell[] = [];
  const named = namedBuckets(info.checks);
  const stray = `dbkit-probe-${randomBytes(3).toString('hex')}`;
  const ins = object(stray, seeder.uids.a);
  cells.push(await attack(env, {
    relation: 'storage.objects', target: 'a bucket no policy names', identity: 'tenant-a', operation: 'storage-write', setup: [bucketRow(stray)], ...ins,
    success: `A uploaded into bucket ${stray}, which no policy names, under its own folder`,
    fix: `every INSERT/UPDATE policy of storage.objects must check bucket_id (e.g. bucket_id = '${named[0] ?? 'avatars'}' AND (storage.foldername(name))[1] = (select auth.uid())::text)`,
  }));
  const theirGroup = tenancy.tables.filter((t) => t.members).map((t) => seeder.rowsOf(t.table, 'b')[0]?.data[t.key]).find((v) => v != null);
  for (const bucket of named) {
    for (const [folder, whose] of [[seeder.uids.b, "B's user id"], ...(theirGroup != null ? [[String(theirGroup), "B's group"]] : [])] as [string, string][]) {
      const o = object(bucket, folder);
      cells.push(await attack(env, {
        relation: 'storage.objects', target: `bucket ${bucket}, folder of ${whose}`, identity: 'tenant-a', operation: 'storage-write', setup: [bucketRow(bucket)], ...o,
        success: `A uploaded into bucket ${bucket} under ${whose} folder`,
        fix: `the storage.objects policies for bucket ${bucket} must tie the path to the caller: (storage.foldername(name))[1] = (select auth.uid())::text (or a group the caller belongs to)`,
      }));
    }
  }
  return cells;
}
