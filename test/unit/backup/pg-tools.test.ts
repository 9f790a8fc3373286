import { describe, expect, it } from 'vitest';
import { connectionParams, serviceFileText } from '../../../src/backup/pg-tools.ts';

describe('connection parameters for a child process', () => {
  it('takes every secret out of the URL, whatever its form', () => {
    expect(connectionParams('postgres://app:p%40ss@db.example:6543/shop?sslmode=require&sslpassword=k3y')).toEqual({
      host: 'db.example', port: '6543', user: 'app', password: 'p@ss', dbname: 'shop', sslmode: 'require', sslpassword: 'k3y', connect_timeout: '10',
    });
    expect(connectionParams('postgres://db/shop?user=app&password=s3cret')).toMatchObject({ host: 'db', user: 'app', password: 's3cret', dbname: 'shop' });
  });
  it('writes a service file section, refusing what could break out of a line', () => {
    expect(serviceFileText('dbkit', { host: 'db', password: 'a b=c' })).toBe('[dbkit]\nhost=db\npassword=a b=c\n');
    expect(() => serviceFileText('dbkit', { password: 'x\nhost=evil' })).toThrow(/line break/);
    expect(() => serviceFileText('dbkit', { 'bad key': 'x' })).toThrow(/parameter/);
  });
});
