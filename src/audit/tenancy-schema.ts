/**
 * The `tenancy` export of a policies module, checked before anything reads it: a module is code
 * from disk, so its map is untrusted. Each problem names the field ("tenancy.tables[2].via.parent:
 * ..."); unknown keys are refused (a typo would otherwise be ignored). Loaded with zod, on demand.
 */
import type { TenancyMap } from './tenancy.js';
import { PUBLIC_READERS } from './tenancy.js';

async function tenancySchema() {
  const { z } = await import('zod');
  const name = z.string().min(1);
  const seedValues = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
  return z.strictObject({
    roles: z.strictObject({ anon: name, authenticated: name, service: name }).partial().optional(),
    userClaim: name.optional(),
    root: z.strictObject({ table: name, key: name.optional(), userColumn: name, values: seedValues.optional() }),
    tables: z.array(
      z.strictObject({
        table: name,
        via: z.strictObject({ column: name, parent: name, parentKey: name.optional() }).optional(),
        members: z
          .strictObject({
            table: name,
            groupColumn: name,
            userColumn: name,
            role: z.strictObject({ column: name, owner: name, member: name.optional() }).optional(),
            values: seedValues.optional(),
          })
          .optional(),
        key: name.optional(),
        values: seedValues.optional(),
        probeValues: seedValues.optional(),
        published: z.strictObject({ values: seedValues, readableBy: z.array(z.enum(PUBLIC_READERS)) }).optional(),
      }).refine((t) => Boolean(t.via) !== Boolean(t.members), { message: 'give either via (a parent) or members (a group): not both, not neither', path: ['via'] }),
    ),
    views: z.array(z.strictObject({ view: name, of: name, key: name, tableKey: name.optional() })).optional(),
  });
}

/** The map, or the problems found in it (one line each, naming the field). */
export async function parseTenancyMap(raw: unknown): Promise<{ ok: true; map: TenancyMap } | { ok: false; problems: string[] }> {
  const parsed = (await tenancySchema()).safeParse(raw);
  if (parsed.success) return { ok: true, map: parsed.data };
  const field = (path: readonly PropertyKey[]) => `tenancy${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
  return { ok: false, problems: parsed.error.issues.map((issue) => `${field(issue.path)}: ${issue.message}`) };
}
