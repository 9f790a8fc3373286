import { describe, expect, it } from 'vitest';
import { redactUrl, scrub, secretsOf } from '../../../src/core/redact.ts';

describe('redactUrl', () => {
  it('masks the password and keeps user, host, port, database and harmless parameters', () => {
    expect(redactUrl('postgres://app:hunter22@db.example.com:6543/postgres?sslmode=require')).toBe('postgres://app:***@db.example.com:6543/postgres?sslmode=require');
  });

  it('leaves a URL without a password as it is', () => {
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/postgres')).toBe('postgres://postgres@127.0.0.1:5432/postgres');
  });

  it('masks a password with special characters, raw or percent-encoded', () => {
    expect(redactUrl('postgres://app:p@ss@host:5432/db')).toBe('postgres://app:***@host:5432/db');
    expect(redactUrl('postgres://app:p%40ss%2Fw%3Ard@host/db')).toBe('postgres://app:***@host/db');
    expect(redactUrl('postgres://app:s3cr*t!$&@host/db')).toBe('postgres://app:***@host/db');
    expect(redactUrl('postgres://app:pa ss@host/db')).toBe('postgres://app:***@host/db');
  });

  it('masks secret query parameters and keeps the others', () => {
    expect(redactUrl('postgresql://app@host/db?sslmode=verify-full&password=qp%26x&sslpassword=kp&sslkey=/home/app/key.pem&sslcert=/c.pem&sslrootcert=/r.pem&application_name=ci')).toBe(
      'postgresql://app@host/db?sslmode=verify-full&password=***&sslpassword=***&sslkey=***&sslcert=***&sslrootcert=***&application_name=ci',
    );
  });

  it('keeps IPv6 hosts readable', () => {
    expect(redactUrl('postgresql://u:pw@[::1]:5432/db')).toBe('postgresql://u:***@[::1]:5432/db');
  });

  it('never echoes an unparseable URL (it may hold a password in any position)', () => {
    for (const bad of ['postgres://app:secret@host:notaport/db', 'postgres://app:pa#ss@host/db', 'postgres://app:pa?ss@host/db', 'app:secret@host/db', 'postgres:app:secret@host/db', '']) {
      const shown = redactUrl(bad);
      expect(shown).toBe('<unparseable database URL>');
      expect(shown).not.toContain('secret');
    }
  });
});

describe('secretsOf', () => {
  it('returns the password raw (as in the URL) and decoded, and the whole URL', () => {
    expect(secretsOf('postgres://app:p%40ss%2Fw0rd@host/db')).toEqual(['p%40ss%2Fw0rd', 'p@ss/w0rd', 'postgres://app:p%40ss%2Fw0rd@host/db']);
  });

  it('returns the password once when encoding does not change it', () => {
    expect(secretsOf('postgres://app:hunter22@host/db')).toEqual(['hunter22', 'postgres://app:hunter22@host/db']);
  });

  it('returns a password that is not valid percent-encoding as it is', () => {
    expect(secretsOf('postgres://app:pa%zzss@host/db')).toEqual(['pa%zzss', 'postgres://app:pa%zzss@host/db']);
  });

  it('returns secret query parameters, decoded and raw', () => {
    const url = 'postgres://app@host/db?sslmode=require&password=qp%26xy&sslkey=%2Fk%2Fkey.pem';
    expect(secretsOf(url).sort()).toEqual(['/k/key.pem', '%2Fk%2Fkey.pem', 'qp%26xy', 'qp&xy', url].sort());
  });

  it('finds every occurrence of a repeated secret parameter, and ignores one without a value', () => {
    expect(secretsOf('postgres://h/db?password=first&password=second&sslkey')).toEqual(['first', 'second', 'postgres://h/db?password=first&password=second&sslkey']);
  });

  it('treats an unparseable URL as one secret', () => {
    expect(secretsOf('postgres://app:secret@host:notaport/db')).toEqual(['postgres://app:secret@host:notaport/db']);
    expect(secretsOf('app:secret@host/db')).toEqual(['app:secret@host/db']);
  });

  it('does not treat a URL without a password or secret parameter as a secret', () => {
    expect(secretsOf('postgres://postgres@127.0.0.1:5432/db?sslmode=require')).toEqual([]);
  });

  it('drops secrets shorter than 3 characters (masking them would garble every message)', () => {
    expect(secretsOf('postgres://u:pw@host/db')).toEqual(['postgres://u:pw@host/db']);
  });
});

describe('scrub', () => {
  it('replaces every occurrence of every secret', () => {
    expect(scrub('password hunter22 rejected; hunter22 again', ['hunter22'])).toBe('password *** rejected; *** again');
  });

  it('replaces the whole URL before its password, so no fragment of it is left', () => {
    const url = 'postgres://app:p%40ss%2Fw0rd@host/db';
    expect(scrub(`could not connect to ${url} (password p@ss/w0rd)`, secretsOf(url))).toBe('could not connect to *** (password ***)');
  });

  it('treats secrets as plain text, not patterns', () => {
    expect(scrub('a.b*c and axbbc', ['a.b*c'])).toBe('*** and axbbc');
  });

  it('returns the text unchanged when there is nothing to scrub', () => {
    expect(scrub('nothing secret here', [])).toBe('nothing secret here');
    expect(scrub('nothing secret here', [''])).toBe('nothing secret here');
  });
});
