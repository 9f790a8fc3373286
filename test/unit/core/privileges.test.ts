import { describe, expect, it } from 'vitest';
import { describeNeed, grants, permissionHint, privilegeProblem, quoteName } from '../../../src/core/privileges.ts';

const who = { role: 'ci_reader', database: 'shop' };

describe('privilege needs', () => {
  it('names each need and the statement that grants it, quoting every identifier', () => {
    expect(describeNeed({ on: 'schema', name: 'dbkit', privilege: 'USAGE' }, who)).toEqual({ what: 'USAGE on schema dbkit', grant: 'GRANT USAGE ON SCHEMA "dbkit" TO "ci_reader"' });
    expect(describeNeed({ on: 'table', name: 'public.Weird"Name', privileges: ['SELECT', 'INSERT'] }, who).grant).toBe('GRANT SELECT, INSERT ON TABLE "public"."Weird""Name" TO "ci_reader"');
    expect(describeNeed({ on: 'database', privilege: 'CREATE' }, who).grant).toBe('GRANT CREATE ON DATABASE "shop" TO "ci_reader"');
    expect(describeNeed({ on: 'role', name: 'anon' }, who).grant).toBe('GRANT "anon" TO "ci_reader"');
    expect(describeNeed({ on: 'attribute', attribute: 'CREATEDB' }, who).grant).toBe('ALTER ROLE "ci_reader" CREATEDB');
    expect(describeNeed({ on: 'rls-bypass', tables: 'all', why: 'x' }, who, ['public.a', 'public.b', 'public.c', 'public.d']).what).toBe('BYPASSRLS: row-level security hides rows of public.a, public.b, public.c and 1 more from it, so x');
  });

  it('grants what a backup reads per schema: USAGE where it is missing, SELECT on all tables and sequences', () => {
    const d = describeNeed({ on: 'dump' }, who, ['schema auth', 'auth.users', 'public.orders']);
    expect(d.grant.split('; ')).toEqual([
      'GRANT USAGE ON SCHEMA "auth" TO "ci_reader"',
      'GRANT SELECT ON ALL TABLES IN SCHEMA "auth" TO "ci_reader"',
      'GRANT SELECT ON ALL SEQUENCES IN SCHEMA "auth" TO "ci_reader"',
      'GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "ci_reader"',
      'GRANT SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "ci_reader"',
    ]);
  });

  it('lists every missing privilege on one line and each GRANT once', () => {
    const missing = [describeNeed({ on: 'schema', name: 'auth', privilege: 'USAGE' }, who), describeNeed({ on: 'dump' }, who, ['schema auth'])];
    expect(grants(missing)).toBe('GRANT USAGE ON SCHEMA "auth" TO "ci_reader";');
    const problem = privilegeProblem(missing, who, 'dbkit backup');
    expect(problem.message).toMatch(/^user "ci_reader" lacks 2 privileges that dbkit backup needs: USAGE on schema auth; read access/);
    expect(problem.message).not.toContain('\n');
    expect(problem.hint).toContain('Nothing was changed.');
  });

  it('quotes qualified names part by part', () => {
    expect(quoteName('public.orders')).toBe('"public"."orders"');
    expect(quoteName('orders')).toBe('"orders"');
  });
});

describe('the hint of a permission error the server raised', () => {
  it('names the object and the GRANT, for the messages PostgreSQL writes', () => {
    expect(permissionHint('permission denied for table minds', 'ci')).toContain('GRANT SELECT ON TABLE "minds" TO "ci"');
    expect(permissionHint('applying 001_x failed: permission denied for schema public (line 3)', 'ci')).toContain('GRANT USAGE ON SCHEMA "public" TO "ci"');
    expect(permissionHint('permission denied for sequence orders_id_seq', null)).toContain('GRANT USAGE ON SEQUENCE "orders_id_seq" TO <the role dbkit connects as>');
    expect(permissionHint('permission denied for database shop', 'ci')).toContain('GRANT CONNECT ON DATABASE "shop" TO "ci"');
    expect(permissionHint('new row violates row-level security policy for table "contents"', 'ci')).toContain('ALTER ROLE "ci" BYPASSRLS');
    expect(permissionHint('permission denied to set role "anon"', 'ci')).toContain('GRANT "anon" TO "ci"');
    expect(permissionHint('must be owner of table contents', 'ci')).toContain('owner');
    expect(permissionHint('permission denied to create database', 'ci')).toContain('"ci"');
  });
});
