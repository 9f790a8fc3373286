import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig, SETTINGS, type ConfigSources, type ResolvedConfig, type SettingName } from '../../src/config.ts';
import { DbkitError } from '../../src/errors.ts';

const CWD = path.resolve('/projects/creatoros');

function sources(overrides: Partial<ConfigSources> = {}): ConfigSources {
  return { cwd: CWD, flags: {}, env: {}, dotenv: {}, file: null, fileName: 'dbkit.config.json', ...overrides };
}

function usageError(fn: () => unknown): DbkitError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DbkitError);
    expect((error as DbkitError).code).toBe('USAGE');
    return error as DbkitError;
  }
  throw new Error('expected a USAGE error');
}

type Source = 'flag' | 'env' | 'dotenv' | 'file';

/**
 * For every setting: a distinct raw value per source, what each resolves to, and the default.
 * `field` is the ResolvedConfig property the setting lands in.
 */
const CASES: Record<SettingName, { field: keyof ResolvedConfig; raw: Record<Source, string>; resolved: Record<Source, unknown>; fallback: unknown }> = {
  databaseUrl: {
    field: 'databaseUrl',
    raw: { flag: 'postgres://f@h/f', env: 'postgres://e@h/e', dotenv: 'postgres://d@h/d', file: 'postgres://c@h/c' },
    resolved: { flag: 'postgres://f@h/f', env: 'postgres://e@h/e', dotenv: 'postgres://d@h/d', file: 'postgres://c@h/c' },
    fallback: null,
  },
  migrationsDir: {
    field: 'migrationsDir',
    raw: { flag: 'm-flag', env: 'm-env', dotenv: 'm-dotenv', file: '/abs/m-file' },
    resolved: { flag: path.join(CWD, 'm-flag'), env: path.join(CWD, 'm-env'), dotenv: path.join(CWD, 'm-dotenv'), file: '/abs/m-file' },
    fallback: path.join(CWD, 'migrations'),
  },
  ignorePattern: { field: 'ignorePattern', raw: { flag: '.*\\.md', env: 'package\\.json', dotenv: '_.*', file: '(?!\\d).*' }, resolved: { flag: '.*\\.md', env: 'package\\.json', dotenv: '_.*', file: '(?!\\d).*' }, fallback: '\\..*' },
  migrationsSchema: { field: 'migrationsSchema', raw: { flag: 'a', env: 'b', dotenv: 'c', file: 'Mixed Case' }, resolved: { flag: 'a', env: 'b', dotenv: 'c', file: 'Mixed Case' }, fallback: 'public' },
  migrationsTable: { field: 'migrationsTable', raw: { flag: 'm1', env: 'm2', dotenv: 'm3', file: 'my_migrations' }, resolved: { flag: 'm1', env: 'm2', dotenv: 'm3', file: 'my_migrations' }, fallback: 'pgmigrations' },
  stateDir: {
    field: 'stateDir',
    raw: { flag: 's-flag', env: '../s-env', dotenv: 's-dotenv', file: 's-file' },
    resolved: { flag: path.join(CWD, 's-flag'), env: path.resolve(CWD, '../s-env'), dotenv: path.join(CWD, 's-dotenv'), file: path.join(CWD, 's-file') },
    fallback: path.join(CWD, '.dbkit'),
  },
  backupDir: {
    field: 'backupDir',
    raw: { flag: 'b-flag', env: 'b-env', dotenv: 'b-dotenv', file: 'b-file' },
    resolved: { flag: path.join(CWD, 'b-flag'), env: path.join(CWD, 'b-env'), dotenv: path.join(CWD, 'b-dotenv'), file: path.join(CWD, 'b-file') },
    fallback: path.join(CWD, '.dbkit', 'backups'),
  },
  lockTimeout: { field: 'lockTimeoutMs', raw: { flag: '1s', env: '2s', dotenv: '3s', file: '4s' }, resolved: { flag: 1_000, env: 2_000, dotenv: 3_000, file: 4_000 }, fallback: 5_000 },
  lockWait: { field: 'lockWaitMs', raw: { flag: '100ms', env: '2m', dotenv: '1h', file: '0' }, resolved: { flag: 100, env: 120_000, dotenv: 3_600_000, file: 0 }, fallback: 60_000 },
  statementTimeout: { field: 'statementTimeoutMs', raw: { flag: '10s', env: '20s', dotenv: '30s', file: '40s' }, resolved: { flag: 10_000, env: 20_000, dotenv: 30_000, file: 40_000 }, fallback: 0 },
  connectTimeout: { field: 'connectTimeoutMs', raw: { flag: '1s', env: '1.5s', dotenv: '250ms', file: '3s' }, resolved: { flag: 1_000, env: 1_500, dotenv: 250, file: 3_000 }, fallback: 10_000 },
  backupStrategy: { field: 'backupStrategy', raw: { flag: 'pg_dump', env: 'template', dotenv: 'auto', file: 'pg_dump' }, resolved: { flag: 'pg_dump', env: 'template', dotenv: 'auto', file: 'pg_dump' }, fallback: 'auto' },
  keepBackups: { field: 'keepBackups', raw: { flag: '1', env: '2', dotenv: '3', file: '4' }, resolved: { flag: 1, env: 2, dotenv: 3, file: 4 }, fallback: 0 },
  pgBinDir: {
    field: 'pgBinDir',
    raw: { flag: '/usr/lib/postgresql/17/bin', env: '/opt/pg/bin', dotenv: 'tools/pg', file: '/usr/local/bin' },
    resolved: { flag: '/usr/lib/postgresql/17/bin', env: '/opt/pg/bin', dotenv: path.join(CWD, 'tools/pg'), file: '/usr/local/bin' },
    fallback: null,
  },
  embeddedPort: { field: 'embeddedPort', raw: { flag: '5433', env: '5434', dotenv: '5435', file: '5436' }, resolved: { flag: 5433, env: 5434, dotenv: 5435, file: 5436 }, fallback: null },
  pgtapDir: {
    field: 'pgtapDirs',
    raw: { flag: 'x-flag', env: `/opt/a${path.delimiter}b`, dotenv: 'c', file: '/d' },
    resolved: { flag: [path.join(CWD, 'x-flag')], env: ['/opt/a', path.join(CWD, 'b')], dotenv: [path.join(CWD, 'c')], file: ['/d'] },
    fallback: null,
  },
  embeddedIdle: { field: 'embeddedIdleMs', raw: { flag: '0', env: '30s', dotenv: '1h', file: '2m' }, resolved: { flag: 0, env: 30_000, dotenv: 3_600_000, file: 120_000 }, fallback: 600_000 },
  exposedSchemas: {
    field: 'exposedSchemas',
    raw: { flag: 'api', env: 'public, api', dotenv: 'graphql_public', file: 'a,b' },
    resolved: { flag: ['api'], env: ['public', 'api'], dotenv: ['graphql_public'], file: ['a', 'b'] },
    fallback: ['public', 'graphql_public'],
  },
  policiesDir: {
    field: 'policiesDir',
    raw: { flag: 'p-flag', env: 'p-env', dotenv: 'p-dotenv', file: '/abs/p-file' },
    resolved: { flag: path.join(CWD, 'p-flag'), env: path.join(CWD, 'p-env'), dotenv: path.join(CWD, 'p-dotenv'), file: '/abs/p-file' },
    fallback: path.join(CWD, 'policies'),
  },
  sensitive: {
    field: 'sensitive',
    raw: { flag: 'public.users', env: 'public.minds.user_id', dotenv: 'a.b,c.d', file: 'x.y' },
    resolved: { flag: ['public.users'], env: ['public.minds.user_id'], dotenv: ['a.b', 'c.d'], file: ['x.y'] },
    fallback: [],
  },
  privilegedRoles: {
    field: 'privilegedRoles',
    raw: { flag: 'root', env: 'admin,ops', dotenv: 'ci', file: 'deploy' },
    resolved: { flag: ['root'], env: ['admin', 'ops'], dotenv: ['ci'], file: ['deploy'] },
    fallback: [],
  },
  testsDir: {
    field: 'testsDir',
    raw: { flag: 't-flag', env: 't-env', dotenv: 't-dotenv', file: '/abs/t-file' },
    resolved: { flag: path.join(CWD, 't-flag'), env: path.join(CWD, 't-env'), dotenv: path.join(CWD, 't-dotenv'), file: '/abs/t-file' },
    fallback: path.join(CWD, 'tests-sql'),
  },
  lint: { field: 'lint', raw: { flag: 'block', env: 'warn', dotenv: 'block', file: 'warn' }, resolved: { flag: 'block', env: 'warn', dotenv: 'block', file: 'warn' }, fallback: 'warn' },
  lintExclude: {
    field: 'lintExclude',
    raw: { flag: 'prefer-identity', env: 'a-b, c', dotenv: 'x', file: 'prefer-robust-stmts,ban-drop-column' },
    resolved: { flag: ['prefer-identity'], env: ['a-b', 'c'], dotenv: ['x'], file: ['prefer-robust-stmts', 'ban-drop-column'] },
    fallback: [],
  },
  lintPgVersion: { field: 'lintPgVersion', raw: { flag: '15', env: '16.4', dotenv: '17', file: '15.2' }, resolved: { flag: '15', env: '16.4', dotenv: '17', file: '15.2' }, fallback: null },
  lintTransaction: { field: 'lintTransaction', raw: { flag: 'yes', env: 'no', dotenv: 'auto', file: 'no' }, resolved: { flag: 'yes', env: 'no', dotenv: 'auto', file: 'no' }, fallback: 'auto' },
  squawkBin: {
    field: 'squawkBin',
    raw: { flag: '/opt/squawk', env: '/usr/bin/squawk', dotenv: 'bin/squawk', file: '/x/squawk' },
    resolved: { flag: '/opt/squawk', env: '/usr/bin/squawk', dotenv: path.join(CWD, 'bin/squawk'), file: '/x/squawk' },
    fallback: null,
  },
  rehearseFailOn: {
    field: 'rehearseFailOn',
    raw: { flag: 'rewrite', env: 'blocking-writes>500ms', dotenv: 'scan, writer-stall>1s', file: 'none' },
    resolved: { flag: [{ kind: 'rewrite' }], env: [{ kind: 'blocking-writes', overMs: 500 }], dotenv: [{ kind: 'scan' }, { kind: 'writer-stall', overMs: 1000 }], file: [] },
    fallback: [],
  },
};

function sourcesFor(name: SettingName, present: readonly Source[]): ConfigSources {
  const spec = SETTINGS[name];
  const { raw } = CASES[name];
  return sources({
    flags: present.includes('flag') ? { [name]: raw.flag } : {},
    env: present.includes('env') ? { [spec.env]: raw.env } : {},
    dotenv: present.includes('dotenv') ? { [spec.env]: raw.dotenv } : {},
    file: present.includes('file') ? { [spec.key]: raw.file } : null,
  });
}

describe('resolveConfig precedence: flag > env > .env > file > default', () => {
  it('covers every setting', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  describe.each(Object.keys(CASES) as SettingName[])('%s', (name) => {
    const { field, resolved, fallback } = CASES[name];
    it('takes the flag over everything', () => {
      expect(resolveConfig(sourcesFor(name, ['flag', 'env', 'dotenv', 'file']))[field]).toEqual(resolved.flag);
    });
    it('takes the environment over .env and the file', () => {
      expect(resolveConfig(sourcesFor(name, ['env', 'dotenv', 'file']))[field]).toEqual(resolved.env);
    });
    it('takes .env over the file', () => {
      expect(resolveConfig(sourcesFor(name, ['dotenv', 'file']))[field]).toEqual(resolved.dotenv);
    });
    it('takes the file over the default', () => {
      expect(resolveConfig(sourcesFor(name, ['file']))[field]).toEqual(resolved.file);
    });
    it('falls back to the default', () => {
      expect(resolveConfig(sourcesFor(name, []))[field]).toEqual(fallback);
    });
  });

  it('reports where the database URL came from', () => {
    expect(resolveConfig(sourcesFor('databaseUrl', ['flag', 'env'])).databaseUrlSource).toBe('flag');
    expect(resolveConfig(sourcesFor('databaseUrl', ['env', 'dotenv'])).databaseUrlSource).toBe('env');
    expect(resolveConfig(sourcesFor('databaseUrl', ['dotenv', 'file'])).databaseUrlSource).toBe('dotenv');
    expect(resolveConfig(sourcesFor('databaseUrl', ['file'])).databaseUrlSource).toBe('file');
    expect(resolveConfig(sourcesFor('databaseUrl', [])).databaseUrlSource).toBe('none');
  });

  it('treats an empty environment variable as unset, so .env still applies', () => {
    const config = resolveConfig(sources({ env: { DBKIT_LOCK_TIMEOUT: '' }, dotenv: { DBKIT_LOCK_TIMEOUT: '3s' } }));
    expect(config.lockTimeoutMs).toBe(3_000);
  });

  it('reads numbers and strings from the config file alike, and ignores $schema', () => {
    const config = resolveConfig(sources({ file: { $schema: './schema.json', keepBackups: 7, embeddedPort: 6543, lockWait: '90s' } }));
    expect([config.keepBackups, config.embeddedPort, config.lockWaitMs]).toEqual([7, 6543, 90_000]);
  });
});

describe('resolveConfig paths', () => {
  it('resolves relative paths against cwd and keeps absolute ones', () => {
    const config = resolveConfig(sources({ flags: { migrationsDir: 'db/migrations', backupDir: '/var/backups/dbkit' }, env: { DBKIT_STATE_DIR: '../shared-state' } }));
    expect(config.cwd).toBe(CWD);
    expect(config.migrationsDir).toBe(path.join(CWD, 'db/migrations'));
    expect(config.backupDir).toBe('/var/backups/dbkit');
    expect(config.stateDir).toBe(path.resolve(CWD, '../shared-state'));
  });

  it('puts the backup folder under the state folder unless told otherwise', () => {
    expect(resolveConfig(sources({ env: { DBKIT_STATE_DIR: 'tmp/state' } })).backupDir).toBe(path.join(CWD, 'tmp/state/backups'));
    expect(resolveConfig(sources({ file: { stateDir: '/srv/dbkit' } })).backupDir).toBe('/srv/dbkit/backups');
  });

  it('trims surrounding whitespace from text settings', () => {
    expect(resolveConfig(sources({ env: { DBKIT_MIGRATIONS_DIR: '  sql  ' } })).migrationsDir).toBe(path.join(CWD, 'sql'));
  });
});

describe('resolveConfig problems', () => {
  it('rejects unknown config-file keys, naming the known ones', () => {
    const error = usageError(() => resolveConfig(sources({ file: { lockTimout: '5s' } })));
    expect(error.message).toBe(`dbkit.config.json: unknown key "lockTimout" (known: ${Object.values(SETTINGS).map((s) => s.key).join(', ')})`);
  });

  it('rejects a config file that is not a JSON object', () => {
    expect(usageError(() => resolveConfig(sources({ file: ['lockTimeout'] }))).message).toBe('dbkit.config.json: must be a JSON object');
    expect(usageError(() => resolveConfig(sources({ file: 'x', fileName: null }))).message).toBe('config file: must be a JSON object');
  });

  it('names the flag, the variable or the file key holding a bad value', () => {
    expect(usageError(() => resolveConfig(sources({ flags: { lockTimeout: '30' } }))).message).toBe("--lock-timeout: '30' needs a unit (ms, s, m or h), e.g. 30s");
    expect(usageError(() => resolveConfig(sources({ env: { DBKIT_EMBEDDED_PORT: '70000' } }))).message).toBe("DBKIT_EMBEDDED_PORT: '70000' is not a TCP port");
    expect(usageError(() => resolveConfig(sources({ dotenv: { DBKIT_KEEP_BACKUPS: '-1' } }))).message).toBe("DBKIT_KEEP_BACKUPS: '-1' is not a whole number >= 0");
    expect(usageError(() => resolveConfig(sources({ file: { backupStrategy: 'rsync' } }))).message).toBe("dbkit.config.json: backupStrategy: 'rsync' is not one of auto, pg_dump, template");
    expect(usageError(() => resolveConfig(sources({ flags: { migrationsDir: '  ' } }))).message).toBe('--migrations-dir: must not be empty');
    expect(usageError(() => resolveConfig(sources({ flags: { stateDir: '' } }))).message).toBe('stateDir: must not be empty');
  });

  it('refuses an ignore pattern that is not a regular expression, as node-pg-migrate would build it', () => {
    expect(usageError(() => resolveConfig(sources({ flags: { ignorePattern: '(*.md' } }))).message).toMatch(/^--ignore-pattern: not a regular expression: /);
    expect(usageError(() => resolveConfig(sources({ file: { ignorePattern: '' } }))).message).toBe('dbkit.config.json: ignorePattern: must not be empty');
  });

  it('reports every problem at once in one USAGE error', () => {
    const error = usageError(() =>
      resolveConfig(
        sources({
          flags: { lockWait: 'soon' },
          env: { DBKIT_EMBEDDED_PORT: '0', DBKIT_CONNECT_TIMEOUT: '10' },
          dotenv: { DBKIT_BACKUP_STRATEGY: 'copy' },
          file: { keepBackups: 'all', colour: true },
        }),
      ),
    );
    expect(error.message.split('\n')).toEqual([
      '6 configuration problems:',
      `  dbkit.config.json: unknown key "colour" (known: ${Object.values(SETTINGS).map((s) => s.key).join(', ')})`,
      "  --lock-wait: 'soon' is not a duration (examples: 500ms, 5s, 2m)",
      "  DBKIT_CONNECT_TIMEOUT: '10' needs a unit (ms, s, m or h), e.g. 10s",
      "  DBKIT_BACKUP_STRATEGY: 'copy' is not one of auto, pg_dump, template",
      "  dbkit.config.json: keepBackups: 'all' is not a whole number >= 0",
      "  DBKIT_EMBEDDED_PORT: '0' is not a TCP port",
    ]);
  });

  it('does not look at a lower-precedence source when a higher one is bad', () => {
    // the flag is wrong; the valid environment value must not silently replace it
    expect(usageError(() => resolveConfig(sources({ flags: { lockTimeout: 'x' }, env: { DBKIT_LOCK_TIMEOUT: '2s' } }))).message).toBe("--lock-timeout: 'x' is not a duration (examples: 500ms, 5s, 2m)");
  });
});
