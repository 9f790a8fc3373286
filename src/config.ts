/**
 * Untrusted input (flags, environment, .env, dbkit.config.json) becomes one checked config.
 * Precedence: flag > environment > .env > config file > default. Every problem is reported at
 * once; unknown config-file keys are rejected.
 *
 * `resolveConfig` is pure (it receives the raw sources); `loadConfig` does the file reading.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { DbkitError } from './errors.js';
import { parseDuration } from './core/duration.js';
import { parseThresholds, THRESHOLD_HELP, type Threshold } from './core/thresholds.js';

/** node-pg-migrate's default when no --ignore-pattern is given (migration.ts: `^\\..*`): dotfiles. */
export const DEFAULT_IGNORE_PATTERN = '\\..*';

export const BACKUP_STRATEGIES = ['auto', 'pg_dump', 'template'] as const;
export type BackupStrategyChoice = (typeof BACKUP_STRATEGIES)[number];

/** The lint settings' choices (the linting lives in lint/). apply's pre-flight: warn about findings, or refuse to apply (exit 7). */
export const LINT_MODES = ['warn', 'block', 'off'] as const;
export type LintMode = (typeof LINT_MODES)[number];

export const TRANSACTION_ASSUMPTIONS = ['auto', 'yes', 'no'] as const;
export type TransactionAssumption = (typeof TRANSACTION_ASSUMPTIONS)[number];

export interface ResolvedConfig {
  cwd: string;
  /** null means: use the embedded cluster under stateDir. */
  databaseUrl: string | null;
  databaseUrlSource: SettingSource | 'none';
  migrationsDir: string;
  /** node-pg-migrate's --ignore-pattern: a file whose whole name matches is not a migration. */
  ignorePattern: string;
  /** Where plain node-pg-migrate keeps its history (its --migrations-schema / --migrations-table). */
  migrationsSchema: string;
  migrationsTable: string;
  stateDir: string;
  backupDir: string;
  lockTimeoutMs: number;
  lockWaitMs: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  backupStrategy: BackupStrategyChoice;
  keepBackups: number;
  pgBinDir: string | null;
  embeddedPort: number | null;
  /** How long the embedded cluster stays up once no command uses it; 0: stop after each command. */
  embeddedIdleMs: number;
  /** Folders dbkit test takes pgTAP's files from for the embedded cluster; null: search known installations. */
  pgtapDirs: string[] | null;
  exposedSchemas: string[];
  policiesDir: string;
  sensitive: string[];
  privilegedRoles: string[];
  testsDir: string;
  lint: LintMode;
  lintExclude: string[];
  lintPgVersion: string | null;
  lintTransaction: TransactionAssumption;
  squawkBin: string | null;
  rehearseFailOn: Threshold[];
}

export type SettingSource = 'flag' | 'env' | 'dotenv' | 'file' | 'default';

type Parsed<T> = T | { error: string };

export interface SettingSpec<T> {
  env: string;
  /** The camelCase key used in dbkit.config.json and by commander for the flag value. */
  key: string;
  flag: string | null;
  description: string;
  defaultText: string;
  /** Allowed values, when the setting is an enumeration (the flag offers them as choices). */
  choices?: readonly string[];
  parse(raw: string): Parsed<T>;
}

function text(raw: string): Parsed<string> {
  return raw.trim() === '' ? { error: 'must not be empty' } : raw.trim();
}

function duration(raw: string): Parsed<number> {
  return parseDuration(raw);
}

function nonNegativeInt(raw: string): Parsed<number> {
  return /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : { error: `'${raw}' is not a whole number >= 0` };
}

function port(raw: string): Parsed<number> {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : { error: `'${raw}' is not a TCP port` };
}

function strategy(raw: string): Parsed<BackupStrategyChoice> {
  const value = raw.trim() as BackupStrategyChoice;
  return BACKUP_STRATEGIES.includes(value) ? value : { error: `'${raw}' is not one of ${BACKUP_STRATEGIES.join(', ')}` };
}

/** A regular expression as node-pg-migrate builds it from --ignore-pattern: `^(pattern)$`. */
function regex(raw: string): Parsed<string> {
  if (raw === '') return { error: 'must not be empty' };
  try {
    new RegExp(`^${raw}$`);
    return raw;
  } catch (error) {
    return { error: `not a regular expression: ${(error as Error).message}` };
  }
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): Parsed<T> => values.find((v) => v === raw.trim()) ?? { error: `'${raw}' is not one of ${values.join(', ')}` };
}

function ruleList(raw: string): Parsed<string[]> {
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !/^[a-z][a-z0-9-]*$/.test(s));
  return bad.length > 0 ? { error: `not a squawk rule name: ${bad.join(', ')}` } : items;
}

function pgVersion(raw: string): Parsed<string> {
  return /^\d{2}(\.\d+)?$/.test(raw.trim()) ? raw.trim() : { error: `'${raw}' is not a PostgreSQL version (e.g. 15 or 16.4)` };
}

function nameList(raw: string): Parsed<string[]> {
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$/.test(s));
  return bad.length > 0 ? { error: `not a name: ${bad.join(', ')}` } : items;
}

/** Every setting, declared once: used for resolution, commander flags and the README tables. */
export const SETTINGS = {
  databaseUrl: { key: 'databaseUrl', env: 'DATABASE_URL', flag: '--db <url>', defaultText: 'embedded cluster', description: 'PostgreSQL 15+ connection URL. Without one, dbkit uses its embedded PostgreSQL 17 under the state dir.', parse: text },
  migrationsDir: { key: 'migrationsDir', env: 'DBKIT_MIGRATIONS_DIR', flag: '--migrations-dir <dir>', defaultText: 'migrations', description: 'Folder of node-pg-migrate migrations (.ts or .js).', parse: text },
  ignorePattern: {
    key: 'ignorePattern',
    env: 'DBKIT_IGNORE_PATTERN',
    flag: '--ignore-pattern <regex>',
    defaultText: '\\..* (dotfiles)',
    description: "node-pg-migrate's --ignore-pattern: files in the migrations folder whose whole name matches this regular expression are not migrations.",
    parse: regex,
  },
  migrationsSchema: { key: 'migrationsSchema', env: 'DBKIT_MIGRATIONS_SCHEMA', flag: '--migrations-schema <schema>', defaultText: 'public', description: "Schema of plain node-pg-migrate's history table (its --migrations-schema), which dbkit adopts and keeps in step.", parse: text },
  migrationsTable: { key: 'migrationsTable', env: 'DBKIT_MIGRATIONS_TABLE', flag: '--migrations-table <table>', defaultText: 'pgmigrations', description: "Plain node-pg-migrate's history table (its --migrations-table), which dbkit adopts and keeps in step. dbkit's own tracking stays in schema dbkit.", parse: text },
  stateDir: { key: 'stateDir', env: 'DBKIT_STATE_DIR', flag: null, defaultText: '.dbkit', description: 'Where the embedded cluster and local backups live (git-ignored).', parse: text },
  backupDir: { key: 'backupDir', env: 'DBKIT_BACKUP_DIR', flag: '--backup-dir <dir>', defaultText: '<state dir>/backups', description: 'Where backup archives and manifests are written.', parse: text },
  lockTimeout: { key: 'lockTimeout', env: 'DBKIT_LOCK_TIMEOUT', flag: '--lock-timeout <duration>', defaultText: '5s', description: "Postgres lock_timeout for each migration: fail fast instead of queueing behind traffic.", parse: duration },
  lockWait: { key: 'lockWait', env: 'DBKIT_LOCK_WAIT', flag: '--lock-wait <duration>', defaultText: '60s', description: 'How long to wait for another dbkit operation on the same database to finish.', parse: duration },
  statementTimeout: { key: 'statementTimeout', env: 'DBKIT_STATEMENT_TIMEOUT', flag: '--statement-timeout <duration>', defaultText: '0 (none)', description: 'Postgres statement_timeout for each migration statement.', parse: duration },
  connectTimeout: { key: 'connectTimeout', env: 'DBKIT_CONNECT_TIMEOUT', flag: null, defaultText: '10s', description: 'How long to wait for a connection before giving up.', parse: duration },
  backupStrategy: { key: 'backupStrategy', env: 'DBKIT_BACKUP_STRATEGY', flag: '--backup-strategy <strategy>', defaultText: 'auto', description: 'auto: pg_dump when one at least as new as the server exists, else a template copy; or force pg_dump / template.', choices: BACKUP_STRATEGIES, parse: strategy },
  keepBackups: { key: 'keepBackups', env: 'DBKIT_KEEP_BACKUPS', flag: null, defaultText: '0 (keep all)', description: 'How many backups to keep per database; older ones are pruned after a new verified backup.', parse: nonNegativeInt },
  pgBinDir: { key: 'pgBinDir', env: 'DBKIT_PG_BIN', flag: null, defaultText: 'search PATH and /usr/lib/postgresql/*/bin', description: 'Folder holding pg_dump and pg_restore.', parse: text },
  exposedSchemas: { key: 'exposedSchemas', env: 'DBKIT_EXPOSED_SCHEMAS', flag: '--exposed-schemas <list>', defaultText: 'public,graphql_public', description: 'Comma-separated schemas the API exposes (PostgREST db-schemas): rls-audit checks reachability, views and SECURITY DEFINER functions there.', parse: nameList },
  policiesDir: { key: 'policiesDir', env: 'DBKIT_POLICIES_DIR', flag: '--policies-dir <dir>', defaultText: 'policies', description: 'Folder whose .ts/.js files export `policies` (drift check) and `tenancy` (isolation matrix).', parse: text },
  sensitive: { key: 'sensitive', env: 'DBKIT_SENSITIVE', flag: '--sensitive <list>', defaultText: 'none', description: 'Comma-separated tables (schema.table) or columns (schema.table.column) holding sensitive data, besides columns named like email, password, token, secret, phone, ssn.', parse: nameList },
  privilegedRoles: { key: 'privilegedRoles', env: 'DBKIT_PRIVILEGED_ROLES', flag: '--privileged-roles <list>', defaultText: 'none', description: 'Comma-separated roles allowed to be SUPERUSER or BYPASSRLS besides postgres, service_role and the Supabase admin roles.', parse: nameList },
  testsDir: { key: 'testsDir', env: 'DBKIT_TESTS_DIR', flag: null, defaultText: 'tests-sql', description: 'Folder of pgTAP test files (*.sql) that dbkit test runs when given no files.', parse: text },
  lint: { key: 'lint', env: 'DBKIT_LINT', flag: null, defaultText: 'warn', description: "apply's pre-flight lints the pending migrations with squawk: warn prints the findings and goes on; block refuses to apply (exit 7, nothing applied); off skips it (for a CI that runs dbkit lint as its own step).", choices: LINT_MODES, parse: oneOf(LINT_MODES) },
  lintExclude: { key: 'lintExclude', env: 'DBKIT_LINT_EXCLUDE', flag: '--exclude <rules>', defaultText: 'none', description: 'Comma-separated squawk rules not to report (require-lock-timeout is always left out: dbkit sets lock_timeout itself).', parse: ruleList },
  lintPgVersion: { key: 'lintPgVersion', env: 'DBKIT_LINT_PG_VERSION', flag: '--pg-version <version>', defaultText: "the server's version when connected, else squawk's default", description: 'PostgreSQL version squawk judges the SQL for (e.g. 15).', parse: pgVersion },
  lintTransaction: { key: 'lintTransaction', env: 'DBKIT_LINT_TRANSACTION', flag: '--assume-transaction <when>', defaultText: 'auto', description: 'Whether squawk assumes each migration runs in a transaction: auto (yes, unless it calls pgm.noTransaction()), yes, no.', choices: TRANSACTION_ASSUMPTIONS, parse: oneOf(TRANSACTION_ASSUMPTIONS) },
  squawkBin: { key: 'squawkBin', env: 'DBKIT_SQUAWK', flag: null, defaultText: 'the @squawk-cli package for this platform, else squawk on PATH', description: 'Path of the squawk binary.', parse: text },
  rehearseFailOn: { key: 'rehearseFailOn', env: 'DBKIT_REHEARSE_FAIL_ON', flag: '--fail-on <thresholds>', defaultText: 'none', description: `What fails a rehearsal besides a failing migration, comma-separated: ${THRESHOLD_HELP}. Example: blocking-writes>500ms,rewrite.`, parse: parseThresholds },
  embeddedPort: { key: 'embeddedPort', env: 'DBKIT_EMBEDDED_PORT', flag: null, defaultText: 'a free port chosen at first start', description: 'TCP port of the embedded cluster (127.0.0.1 only).', parse: port },
  pgtapDir: { key: 'pgtapDir', env: 'DBKIT_PGTAP_DIR', flag: null, defaultText: 'PostgreSQL installations found on this machine', description: "Folder(s) holding pgTAP's files (pgtap.control, pgtap--*.sql), separated by the path separator (: or ;), that dbkit test copies into the embedded cluster; when set, only these are searched.", parse: text },
  embeddedIdle: { key: 'embeddedIdle', env: 'DBKIT_EMBEDDED_IDLE', flag: null, defaultText: '10m', description: 'How long the embedded cluster keeps running after the last command used it (a watchdog process then stops it); 0 stops it as soon as each command is done.', parse: duration },
} as const satisfies Record<string, SettingSpec<unknown>>;

export type SettingName = keyof typeof SETTINGS;
type SettingValue<N extends SettingName> = Exclude<ReturnType<(typeof SETTINGS)[N]['parse']>, { error: string }>;

export interface ConfigSources {
  cwd: string;
  /** Values given as command-line flags, keyed by setting name (commander's camelCase). */
  flags: Partial<Record<SettingName, string | undefined>>;
  env: Readonly<Record<string, string | undefined>>;
  /** Contents of ./.env, already parsed. */
  dotenv: Readonly<Record<string, string>>;
  /** Contents of dbkit.config.json, already parsed (unknown shape). */
  file: unknown;
  fileName: string | null;
}

interface Found {
  raw: string;
  source: SettingSource;
}

function lookup(name: SettingName, sources: ConfigSources, fileValues: Record<string, unknown>): Found | null {
  const spec = SETTINGS[name];
  const flag = sources.flags[name];
  if (flag !== undefined) return { raw: String(flag), source: 'flag' };
  const env = sources.env[spec.env];
  if (env !== undefined && env !== '') return { raw: env, source: 'env' };
  const dot = sources.dotenv[spec.env];
  if (dot !== undefined && dot !== '') return { raw: dot, source: 'dotenv' };
  const fromFile = fileValues[spec.key];
  if (fromFile !== undefined && fromFile !== null) return { raw: String(fromFile), source: 'file' };
  return null;
}

export function resolveConfig(sources: ConfigSources): ResolvedConfig {
  const problems: string[] = [];
  const fileValues: Record<string, unknown> = {};
  if (sources.file !== undefined && sources.file !== null) {
    if (typeof sources.file !== 'object' || Array.isArray(sources.file)) {
      problems.push(`${sources.fileName ?? 'config file'}: must be a JSON object`);
    } else {
      const known = new Set(Object.values(SETTINGS).map((s) => s.key));
      for (const [key, value] of Object.entries(sources.file as Record<string, unknown>)) {
        if (key === '$schema') continue;
        if (!known.has(key as never)) problems.push(`${sources.fileName ?? 'config file'}: unknown key "${key}" (known: ${[...known].join(', ')})`);
        else fileValues[key] = value;
      }
    }
  }

  function get<N extends SettingName>(name: N): { value: SettingValue<N>; source: SettingSource } | null {
    const found = lookup(name, sources, fileValues);
    if (!found) return null;
    const parsed = SETTINGS[name].parse(found.raw) as Parsed<SettingValue<N>>;
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) {
      const spec = SETTINGS[name];
      const where = found.source === 'flag' ? (spec.flag ?? name).split(' ')[0] : found.source === 'file' ? `${sources.fileName}: ${spec.key}` : spec.env;
      problems.push(`${where}: ${parsed.error}`);
      return null;
    }
    return { value: parsed, source: found.source };
  }

  const resolvePath = (p: string, base: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));
  const cwd = sources.cwd;
  const nullablePath = (p: string | undefined) => (p === undefined ? null : resolvePath(p, cwd));
  const pathList = (p: string | undefined) => (p === undefined ? null : p.split(path.delimiter).filter(Boolean).map((d) => resolvePath(d, cwd)));
  const db = get('databaseUrl');
  const stateDir = resolvePath(get('stateDir')?.value ?? '.dbkit', cwd);
  const config: ResolvedConfig = {
    cwd,
    databaseUrl: db?.value ?? null,
    databaseUrlSource: db?.source ?? 'none',
    migrationsDir: resolvePath(get('migrationsDir')?.value ?? 'migrations', cwd),
    ignorePattern: get('ignorePattern')?.value ?? DEFAULT_IGNORE_PATTERN,
    migrationsSchema: get('migrationsSchema')?.value ?? 'public',
    migrationsTable: get('migrationsTable')?.value ?? 'pgmigrations',
    stateDir,
    backupDir: resolvePath(get('backupDir')?.value ?? path.join(stateDir, 'backups'), cwd),
    lockTimeoutMs: get('lockTimeout')?.value ?? 5_000,
    lockWaitMs: get('lockWait')?.value ?? 60_000,
    statementTimeoutMs: get('statementTimeout')?.value ?? 0,
    connectTimeoutMs: get('connectTimeout')?.value ?? 10_000,
    backupStrategy: get('backupStrategy')?.value ?? 'auto',
    keepBackups: get('keepBackups')?.value ?? 0,
    pgBinDir: nullablePath(get('pgBinDir')?.value),
    embeddedPort: get('embeddedPort')?.value ?? null,
    embeddedIdleMs: get('embeddedIdle')?.value ?? 10 * 60_000,
    pgtapDirs: pathList(get('pgtapDir')?.value),
    exposedSchemas: get('exposedSchemas')?.value ?? ['public', 'graphql_public'],
    policiesDir: resolvePath(get('policiesDir')?.value ?? 'policies', cwd),
    sensitive: get('sensitive')?.value ?? [],
    privilegedRoles: get('privilegedRoles')?.value ?? [],
    testsDir: resolvePath(get('testsDir')?.value ?? 'tests-sql', cwd),
    lint: get('lint')?.value ?? 'warn',
    lintExclude: get('lintExclude')?.value ?? [],
    lintPgVersion: get('lintPgVersion')?.value ?? null,
    lintTransaction: get('lintTransaction')?.value ?? 'auto',
    squawkBin: nullablePath(get('squawkBin')?.value),
    rehearseFailOn: get('rehearseFailOn')?.value ?? [],
  };
  if (problems.length > 0) {
    throw new DbkitError('USAGE', problems.length === 1 ? problems[0]! : `${problems.length} configuration problems:\n  ${problems.join('\n  ')}`);
  }
  return config;
}

export const CONFIG_FILE_NAME = 'dbkit.config.json';

/** Reads .env and dbkit.config.json from `cwd` (or the --config path) and resolves. */
export function loadConfig(options: { cwd?: string; flags?: ConfigSources['flags']; configPath?: string; env?: Record<string, string | undefined> } = {}): ResolvedConfig {
  const cwd = options.cwd ?? process.cwd();
  const envFile = path.join(cwd, '.env');
  const dotenv = existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  const configPath = options.configPath ? path.resolve(cwd, options.configPath) : path.join(cwd, CONFIG_FILE_NAME);
  let file: unknown = null;
  if (existsSync(configPath)) {
    try {
      file = JSON.parse(readFileSync(configPath, 'utf8'));
    } catch (error) {
      throw new DbkitError('USAGE', `${path.relative(cwd, configPath) || configPath} is not valid JSON: ${(error as Error).message}`);
    }
  } else if (options.configPath) {
    throw new DbkitError('USAGE', `config file ${options.configPath} does not exist`);
  }
  return resolveConfig({
    cwd,
    flags: options.flags ?? {},
    env: options.env ?? process.env,
    dotenv,
    file,
    fileName: path.basename(configPath),
  });
}
