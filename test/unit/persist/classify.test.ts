import { describe, expect, it } from 'vitest';
import { classifyFailure, isRetryable } from '../../../src/persist/classify.ts';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('classifyFailure', () => {
  it('treats network errors, connection SQLSTATEs and terminated sessions as unavailable', () => {
    expect(classifyFailure(pgError('ECONNREFUSED'), 'connect')).toBe('unavailable');
    expect(classifyFailure(pgError('ECONNRESET'), 'query')).toBe('unavailable');
    expect(classifyFailure(pgError('57P01', 'terminating connection due to administrator command'), 'query')).toBe('unavailable');
    expect(classifyFailure(pgError('08006'), 'query')).toBe('unavailable');
    expect(classifyFailure(new Error('Connection terminated unexpectedly'), 'query')).toBe('unavailable');
  });

  it('treats timeouts as timeouts', () => {
    expect(classifyFailure(pgError('57014', 'canceling statement due to statement timeout'), 'query')).toBe('timeout');
    expect(classifyFailure(new Error('timeout exceeded when trying to connect'), 'connect')).toBe('timeout');
  });

  it('treats any failure to get a connection as unavailable (e.g. ALLOW_CONNECTIONS false)', () => {
    expect(classifyFailure(pgError('55000', 'database "x" is not currently accepting connections'), 'connect')).toBe('unavailable');
  });

  it('treats constraint violations and bad values as rejected, not retried', () => {
    expect(classifyFailure(pgError('23502', 'null value in column "title"'), 'query')).toBe('rejected');
    expect(classifyFailure(pgError('22003', 'integer out of range'), 'query')).toBe('rejected');
    expect(isRetryable('rejected')).toBe(false);
    expect(isRetryable('unavailable')).toBe(true);
    expect(isRetryable('timeout')).toBe(true);
  });
});
