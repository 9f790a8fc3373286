import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicySql, dropPolicySql, POLCMD, POLICY_COMMANDS, PolicySqlError, type PolicyDefinition } from '../../../src/core/policy.ts';
import { loadSqlParser } from '../../../src/core/sql-parse.ts';

beforeAll(async () => {
  await loadSqlParser();
});

const base: PolicyDefinition = {
  name: 'contents_rw_mine',
  table: 'public.contents',
  command: 'ALL',
  permissive: true,
  roles: ['authenticated'],
  using: 'owner_id = (SELECT auth.uid())',
  withCheck: 'owner_id = (SELECT auth.uid())',
  why: 'owners read and write their rows',
};

describe('createPolicySql', () => {
  it('writes a permissive policy with USING and WITH CHECK', () => {
    expect(createPolicySql(base)).toBe(
      'CREATE POLICY contents_rw_mine ON public.contents\n  AS PERMISSIVE\n  FOR ALL\n  TO authenticated\n  USING (owner_id = (SELECT auth.uid()))\n  WITH CHECK (owner_id = (SELECT auth.uid()))',
    );
  });

  it('writes a restrictive policy, leaving out the clauses that are null', () => {
    expect(createPolicySql({ ...base, name: 'contents_delete_own', command: 'DELETE', permissive: false, withCheck: null })).toBe(
      'CREATE POLICY contents_delete_own ON public.contents\n  AS RESTRICTIVE\n  FOR DELETE\n  TO authenticated\n  USING (owner_id = (SELECT auth.uid()))',
    );
    expect(createPolicySql({ ...base, command: 'INSERT', using: null })).toBe(
      'CREATE POLICY contents_rw_mine ON public.contents\n  AS PERMISSIVE\n  FOR INSERT\n  TO authenticated\n  WITH CHECK (owner_id = (SELECT auth.uid()))',
    );
  });

  it('lists several roles, and writes the public pseudo-role as PUBLIC', () => {
    expect(createPolicySql({ ...base, roles: ['anon', 'authenticated', 'public'], using: 'true', withCheck: null }).split('\n')[3]).toBe('  TO anon, authenticated, PUBLIC');
  });

  it('quotes names that are not plain lower-case identifiers, doubling embedded quotes', () => {
    expect(createPolicySql({ ...base, name: 'Owners "only"', table: 'App.User Data', roles: ['Editors', 'role-x'], using: 'true', withCheck: null })).toBe(
      'CREATE POLICY "Owners ""only""" ON "App"."User Data"\n  AS PERMISSIVE\n  FOR ALL\n  TO "Editors", "role-x"\n  USING (true)',
    );
  });
});

describe('createPolicySql refuses text that is not exactly the declared policy', () => {
  const refused = (p: Partial<PolicyDefinition>) => {
    try {
      createPolicySql({ ...base, ...p });
    } catch (error) {
      expect(error).toBeInstanceOf(PolicySqlError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('an expression that closes the statement and adds others', () => {
    expect(refused({ using: 'true); COMMIT; DROP TABLE public.x; CREATE POLICY zz ON public.minds USING (true', withCheck: null })).toMatch(
      /^policy contents_rw_mine on public\.contents: its text makes 4 SQL statements, not one CREATE POLICY/,
    );
  });

  it('an expression that adds a clause the declaration does not have', () => {
    expect(refused({ using: 'true) WITH CHECK (true', withCheck: null })).toMatch(/a different WITH CHECK/);
  });

  it('an expression that is not valid SQL', () => {
    expect(refused({ using: 'owner_id = ' })).toMatch(/is not valid SQL \(syntax error/);
  });

  it('a role that names the current user through a keyword stays that role name', () => {
    expect(createPolicySql({ ...base, roles: ['current_user', 'user'], using: 'true', withCheck: null }).split('\n')[3]).toBe('  TO "current_user", "user"');
  });
});

describe('dropPolicySql', () => {
  it('drops if it exists, with the same quoting', () => {
    expect(dropPolicySql(base)).toBe('DROP POLICY IF EXISTS contents_rw_mine ON public.contents');
    expect(dropPolicySql({ ...base, name: 'Mine', table: 'public.Contents' })).toBe('DROP POLICY IF EXISTS "Mine" ON public."Contents"');
    expect(dropPolicySql({ ...base, name: 'select', table: 'public.user' })).toBe('DROP POLICY IF EXISTS "select" ON public."user"');
  });
});

describe('POLCMD', () => {
  it("maps every command to pg_policy.polcmd's letter", () => {
    expect(POLICY_COMMANDS.map((c) => POLCMD[c])).toEqual(['*', 'r', 'a', 'w', 'd']);
  });
});
