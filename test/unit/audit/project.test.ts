/**
 * The policies folder as rls-audit reads it: a later file's `supersedes` replaces declarations an
 * applied migration still builds its SQL from, so drift compares the database with the current
 * declaration of each policy, and with that one only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPolicyProject } from '../../../src/audit/project.ts';
import { DbkitError } from '../../../src/errors.ts';
import { policies as kiss } from '../../../policies/creatoros.ts';
import { policies as attribution } from '../../../policies/creatoros-attribution.ts';
import { policies as current } from '../../../policies/creatoros-caller-views.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const declaration = (name: string, using = 'true') => ({ name, table: 'public.t', command: 'SELECT', permissive: true, roles: ['authenticated'], using, withCheck: null, why: '' });
const file = (policies: object[], supersedes?: unknown) =>
  `export const policies = ${JSON.stringify(policies)};\n${supersedes === undefined ? '' : `export const supersedes = ${JSON.stringify(supersedes)};\n`}`;

let dirs: string[] = [];
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-policies-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

async function refusal(dir: string): Promise<string> {
  const error = await loadPolicyProject(dir, dir).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DbkitError);
  expect((error as DbkitError).code).toBe('USAGE');
  return (error as DbkitError).message;
}

describe('the policies folder', () => {
  it("dbkit's own: the current declaration of each CreatorOS policy, the superseded ones left out", async () => {
    const project = await loadPolicyProject(path.join(ROOT, 'policies'), ROOT);
    const keys = project.policies.map((d) => `${d.policy.table}.${d.policy.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual([...current, ...kiss.filter((p) => p.table === 'public.minds')].map((p) => `${p.table}.${p.name}`).sort());
    for (const d of project.policies.filter((x) => x.policy.table !== 'public.minds')) {
      expect(d.file).toBe('policies/creatoros-caller-views.ts');
      expect(current).toContainEqual(d.policy);
    }
    // every superseded declaration differs from its replacement (else nothing would have changed)
    for (const old of [...kiss, ...attribution].filter((p) => p.table !== 'public.minds')) {
      expect(project.policies.find((d) => d.policy.name === old.name)?.policy).not.toEqual(old);
    }
  });

  it('a later file supersedes a declaration: drift sees only the new one', async () => {
    const dir = folder({ 'a.ts': file([declaration('p', 'false'), declaration('q')]), 'b.ts': file([declaration('p')], ['public.t.p']) });
    const project = await loadPolicyProject(dir, dir);
    expect(project.policies.map((d) => [d.file, d.policy.name, d.policy.using])).toEqual([['a.ts', 'q', 'true'], ['b.ts', 'p', 'true']]);
  });

  it('refuses a policy declared twice without supersedes, naming both files', async () => {
    const message = await refusal(folder({ 'a.ts': file([declaration('p', 'false')]), 'b.ts': file([declaration('p')]) }));
    expect(message).toContain('public.t.p is declared in a.ts and in b.ts');
  });

  it('refuses a supersedes entry that names nothing in another file (a typo would keep comparing the old one)', async () => {
    const message = await refusal(folder({ 'a.ts': file([declaration('p')]), 'b.ts': file([declaration('p')], ['public.t.pp']) }));
    expect(message).toContain('b.ts supersedes public.t.pp, which no other file');
  });

  it('refuses two files superseding the same declaration, and a supersedes that is not a list of names', async () => {
    expect(await refusal(folder({ 'a.ts': file([declaration('p')]), 'b.ts': file([declaration('p')], ['public.t.p']), 'c.ts': file([], ['public.t.p']) }))).toContain('superseded by two files');
    expect(await refusal(folder({ 'a.ts': file([declaration('p')]), 'b.ts': file([], 'public.t.p') }))).toContain('`supersedes` must be an array');
    expect(await refusal(folder({ 'a.ts': file([declaration('p')]), 'b.ts': file([], ['p']) }))).toContain('`supersedes` must be an array');
  });
});

describe('a hostile tenancy export', () => {
  const map = (tenancy: string) => folder({ 'rls.ts': `export const policies = [];\nexport const tenancy = ${tenancy};\n` });
  const valid = "{ root: { table: 'public.minds', userColumn: 'user_id' }, tables: [{ table: 'public.contents', via: { column: 'mind_id', parent: 'public.minds' } }] }";

  it('is refused in one line naming the file and each field, before anything reads it', async () => {
    const message = await refusal(map("{ root: { table: 42, userColumn: 'user_id' }, tables: 'all', views: [{ view: 'public.v' }] }"));
    expect(message).toMatch(/^rls\.ts: invalid tenancy map: /);
    expect(message).toContain('tenancy.root.table:');
    expect(message).toContain('tenancy.tables:');
    expect(message).toContain('tenancy.views[0].of:');
    expect(message).not.toContain('\n');
  });

  it('refuses a wrong reader and an unknown key (a typo is not ignored)', async () => {
    const message = await refusal(
      map("{ root: { table: 'public.minds', userColumn: 'user_id' }, tables: [{ table: 'public.contents', via: { column: 'mind_id', parent: 'public.minds' }, published: { values: {}, readableBy: ['everyone'] } }], tabels: [] }"),
    );
    expect(message).toContain('tenancy.tables[0].published.readableBy[0]:');
    expect(message).toContain('tabels');
  });

  it('refuses a table with neither a parent link nor members, or both; accepts a group table with its membership', async () => {
    const neither = await refusal(map("{ root: { table: 'public.minds', userColumn: 'user_id' }, tables: [{ table: 'public.contents' }] }"));
    expect(neither).toContain('tenancy.tables[0].via: give either via (a parent) or members (a group)');
    const members = "members: { table: 'public.team_members', groupColumn: 'team_id', userColumn: 'user_id', role: { column: 'role', owner: 'owner', member: 'member' } }";
    const both = await refusal(map(`{ root: { table: 'public.minds', userColumn: 'user_id' }, tables: [{ table: 'public.teams', via: { column: 'mind_id', parent: 'public.minds' }, ${members} }] }`));
    expect(both).toContain('tenancy.tables[0].via: give either via');
    const badRole = await refusal(map(`{ root: { table: 'public.minds', userColumn: 'user_id' }, tables: [{ table: 'public.teams', members: { table: 'public.team_members', groupColumn: 'team_id', userColumn: 'user_id', role: { column: 'role' } } }] }`));
    expect(badRole).toContain('tenancy.tables[0].members.role.owner:');
    const group = await loadPolicyProject(map(`{ root: { table: 'auth.users', userColumn: 'id' }, tables: [{ table: 'public.teams', key: 'id', ${members} }] }`), ROOT);
    expect(group.tenancy?.map.tables[0]?.members?.groupColumn).toBe('team_id');
  });

  it('refuses null, a string, and a seed value that is an object (it would reach SQL as [object Object])', async () => {
    expect(await refusal(map('null'))).toContain('tenancy:');
    expect(await refusal(map("'public.minds'"))).toContain('tenancy:');
    const seed = await refusal(map(`{ ...${valid}, root: { table: 'public.minds', userColumn: 'user_id', values: { name: { toString: 1 } } } }`));
    expect(seed).toContain('tenancy.root.values.name:');
  });

  it('escapes control characters a key could carry into the message', async () => {
    const message = await refusal(map(`{ ...${valid}, ['evil\\u001b[2Jkey']: 1 }`));
    expect(message).not.toContain('\u001b');
  });

  it('accepts a valid map, and the maps the repository ships', async () => {
    expect((await loadPolicyProject(map(valid), ROOT)).tenancy?.map.root.table).toBe('public.minds');
    const shipped = await loadPolicyProject(path.join(ROOT, 'policies'), ROOT);
    expect(shipped.tenancy?.file).toMatch(/^policies\//);
  });
});
