import { describe, expect, it } from 'vitest';
import { classifyConnection, describePooler, isPoolerError, refuseThroughTransactionPooler, type PoolerProbe } from '../../src/core/pooler.ts';

const probe = (over: Partial<PoolerProbe>): PoolerProbe => ({ host: '127.0.0.1', port: 5432, announcedPid: 100, backendPids: [100, 100], secondConnectionPid: null, rejectsStartupParameter: null, ...over });

describe('classifyConnection', () => {
  it('a direct connection: the announced pid is the backend pid, which stays', () => {
    expect(classifyConnection(probe({})).path).toBe('direct');
    expect(classifyConnection(probe({ port: 6543 })).path).toBe('direct');
  });
  it('a pid that changes between transactions is a transaction pooler', () => {
    expect(classifyConnection(probe({ backendPids: [100, 101] })).path).toBe('transaction-pooler');
  });
  it('a second connection on the same backend is a transaction pooler; on another, a session pooler', () => {
    expect(classifyConnection(probe({ announcedPid: -5, secondConnectionPid: 100 })).path).toBe('transaction-pooler');
    const session = classifyConnection(probe({ announcedPid: -5, secondConnectionPid: 200, rejectsStartupParameter: true }));
    expect(session).toMatchObject({ path: 'session-pooler', product: 'pgbouncer' });
    expect(describePooler(session)).toBe('PgBouncer in session mode');
  });
  it("Supabase's pooler host: port 6543 is transaction mode, 5432 session mode", () => {
    expect(classifyConnection(probe({ host: 'aws-0-eu-central-1.pooler.supabase.com', port: 6543 }))).toMatchObject({ path: 'transaction-pooler', product: 'supavisor' });
    expect(classifyConnection(probe({ host: 'aws-0-eu-central-1.pooler.supabase.com', port: 5432 }))).toMatchObject({ path: 'session-pooler', product: 'supavisor' });
  });
  it('refuses only through a transaction pooler, naming it and the URL to use', () => {
    const facts = classifyConnection(probe({ backendPids: [1, 2], rejectsStartupParameter: true }));
    expect(() => refuseThroughTransactionPooler(facts, 'dbkit restore', 'it needs one session')).toThrow(/dbkit restore cannot run through PgBouncer in transaction mode/);
    expect(() => refuseThroughTransactionPooler(classifyConnection(probe({})), 'dbkit restore', 'x')).not.toThrow();
  });
});

describe('isPoolerError', () => {
  it('names prepared-statement clashes and PgBouncer protocol errors, not constraint violations', () => {
    expect(isPoolerError(Object.assign(new Error('prepared statement "dbkit_lock_project" already exists'), { code: '42P05' }))).toBe(true);
    expect(isPoolerError(Object.assign(new Error('unsupported startup parameter: statement_timeout'), { code: '08P01' }))).toBe(true);
    expect(isPoolerError(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false);
  });
});
