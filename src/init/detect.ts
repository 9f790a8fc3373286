/**
 * What migration setup an existing repository has, read the way its tools read it: a Supabase CLI
 * folder (supabase/migrations), or node-pg-migrate (package.json scripts, .pgmigraterc, the JSON
 * file its --config-file names, config/default.json's "db" section). Every file is untrusted: parsed
 * by a schema, a problem becomes a warning, a path that leaves the repository is ignored.
 */
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const MIGRATION_TOOLS = ['supabase', 'node-pg-migrate', 'none'] as const;
export type MigrationTool = (typeof MIGRATION_TOOLS)[number];

/** node-pg-migrate's own settings, as its CLI names them. */
export interface NodePgMigrateSettings {
  migrationsDir?: string;
  migrationsTable?: string;
  migrationsSchema?: string;
  ignorePattern?: string;
  language?: string;
  configFile?: string;
}

export interface Detection {
  tool: MigrationTool;
  /** Relative to the repository, with forward slashes. */
  migrationsDir: string;
  /** Where each fact came from ("package.json scripts.migrate: ..."). */
  evidence: string[];
  nodePgMigrate: NodePgMigrateSettings;
  warnings: string[];
}

const FLAGS: Record<string, keyof NodePgMigrateSettings> = {
  '-m': 'migrationsDir', '--migrations-dir': 'migrationsDir',
  '-t': 'migrationsTable', '--migrations-table': 'migrationsTable',
  '--migrations-schema': 'migrationsSchema',
  '--ignore-pattern': 'ignorePattern',
  '-j': 'language', '--migration-file-language': 'language',
  '-f': 'configFile', '--config-file': 'configFile',
};
const SEPARATORS = new Set(['&&', '||', ';', '|', '&']);

/** Splits a shell command into words: quotes join, separators (&&, ||, ;, |, &) are words of their own; no expansion. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  const end = () => {
    if (word !== null) words.push(word);
    word = null;
  };
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < command.length) word += command[++i]!;
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= '';
    } else if (/\s/.test(ch)) end();
    else if (ch === ';' || ch === '|' || ch === '&') {
      end();
      const pair = command[i + 1] === ch && ch !== ';' ? ch + ch : ch;
      words.push(pair);
      i += pair.length - 1;
    } else word = (word ?? '') + ch;
  }
  end();
  return words;
}

/** The node-pg-migrate settings a package.json script passes on its command line (null: it does not run node-pg-migrate). */
export function nodePgMigrateArgs(command: string): NodePgMigrateSettings | null {
  const words = shellWords(command);
  const start = words.findIndex((w) => path.posix.basename(w) === 'node-pg-migrate' || w === 'node-pg-migrate.js');
  if (start < 0) return null;
  const settings: NodePgMigrateSettings = {};
  for (let i = start + 1; i < words.length && !SEPARATORS.has(words[i]!); i++) {
    const word = words[i]!;
    const eq = word.indexOf('=');
    const flag = eq > 0 && word.startsWith('--') ? word.slice(0, eq) : word;
    const key = FLAGS[flag];
    if (!key) continue;
    const value = eq > 0 && word.startsWith('--') ? word.slice(eq + 1) : words[++i];
    if (value !== undefined && !SEPARATORS.has(value)) settings[key] = value;
  }
  return settings;
}

const PackageJson = z.object({
  scripts: z.record(z.string(), z.string()).optional(),
  dependencies: z.record(z.string(), z.string()).optional(),
  devDependencies: z.record(z.string(), z.string()).optional(),
});

/** node-pg-migrate's JSON config: kebab-case keys, as its --config-file and `config` package read them. */
const NodePgMigrateJson = z.object({
  'migrations-dir': z.string().optional(),
  'migrations-table': z.string().optional(),
  'migrations-schema': z.string().optional(),
  'ignore-pattern': z.string().optional(),
  'migration-file-language': z.string().optional(),
});

function fromJson(value: z.infer<typeof NodePgMigrateJson>): NodePgMigrateSettings {
  const out: NodePgMigrateSettings = {};
  if (value['migrations-dir'] !== undefined) out.migrationsDir = value['migrations-dir'];
  if (value['migrations-table'] !== undefined) out.migrationsTable = value['migrations-table'];
  if (value['migrations-schema'] !== undefined) out.migrationsSchema = value['migrations-schema'];
  if (value['ignore-pattern'] !== undefined) out.ignorePattern = value['ignore-pattern'];
  if (value['migration-file-language'] !== undefined) out.language = value['migration-file-language'];
  return out;
}

const MAX_BYTES = 1_000_000;

/** A small JSON file of the repository, parsed by `schema`; null (with a warning) when absent, too big or malformed. */
function readJson<T>(cwd: string, file: string, schema: z.ZodType<T>, warnings: string[]): T | null {
  const full = path.join(cwd, file);
  if (!existsSync(full)) return null;
  const stat = lstatSync(full);
  if (!stat.isFile() || stat.size > MAX_BYTES) {
    warnings.push(`${file}: not read (${stat.isFile() ? 'larger than 1 MB' : 'not a regular file'})`);
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(full, 'utf8'));
  } catch (error) {
    warnings.push(`${file}: not valid JSON (${(error as Error).message.split('\n')[0]})`);
    return null;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    warnings.push(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'} ${i.message}`).join('; ')}`);
    return null;
  }
  return parsed.data;
}

/** A folder path from a config file, kept only when it stays inside the repository. */
export function repositoryPath(cwd: string, candidate: string): string | null {
  if (candidate.trim() === '' || path.isAbsolute(candidate) || /[*?[\]{}]/.test(candidate)) return null;
  const resolved = path.resolve(cwd, candidate);
  const relative = path.relative(cwd, resolved);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return null;
  return relative.split(path.sep).join('/');
}

const isDirectory = (cwd: string, dir: string) => {
  const full = path.join(cwd, dir);
  return existsSync(full) && lstatSync(full).isDirectory();
};

export function detectProject(cwd: string): Detection {
  const warnings: string[] = [];
  const evidence: string[] = [];
  const found: NodePgMigrateSettings = {};
  const merge = (settings: NodePgMigrateSettings, source: string) => {
    for (const [key, value] of Object.entries(settings) as [keyof NodePgMigrateSettings, string][]) {
      if (found[key] === undefined) found[key] = value;
      else if (found[key] !== value) warnings.push(`${source} sets ${key} to ${value}, another source to ${found[key]}: kept ${found[key]}`);
    }
  };

  const pkg = readJson(cwd, 'package.json', PackageJson, warnings);
  let usesNodePgMigrate = Boolean(pkg?.dependencies?.['node-pg-migrate'] ?? pkg?.devDependencies?.['node-pg-migrate']);
  if (usesNodePgMigrate) evidence.push('package.json depends on node-pg-migrate');
  for (const [name, command] of Object.entries(pkg?.scripts ?? {})) {
    const args = nodePgMigrateArgs(command);
    if (!args) continue;
    usesNodePgMigrate = true;
    evidence.push(`package.json scripts.${name}: ${command.length > 120 ? `${command.slice(0, 117)}...` : command}`);
    merge(args, `package.json scripts.${name}`);
  }
  for (const file of ['.pgmigraterc', '.pgmigraterc.json']) {
    const rc = readJson(cwd, file, NodePgMigrateJson, warnings);
    if (!rc) continue;
    usesNodePgMigrate = true;
    evidence.push(file);
    merge(fromJson(rc), file);
  }
  if (found.configFile) {
    const file = repositoryPath(cwd, found.configFile);
    if (!file || !file.endsWith('.json')) warnings.push(`node-pg-migrate --config-file ${found.configFile}: not read (dbkit init reads JSON config files inside the repository)`);
    else {
      const config = readJson(cwd, file, z.object({ db: NodePgMigrateJson.optional() }).and(NodePgMigrateJson), warnings);
      if (config) {
        evidence.push(file);
        merge(fromJson(config.db ?? config), file);
      }
    }
  }
  const defaults = readJson(cwd, path.join('config', 'default.json'), z.object({ db: NodePgMigrateJson.optional() }), warnings);
  if (defaults?.db && usesNodePgMigrate) {
    evidence.push('config/default.json (db)');
    merge(fromJson(defaults.db), 'config/default.json');
  }

  let migrationsDir: string | null = null;
  if (found.migrationsDir !== undefined) {
    migrationsDir = repositoryPath(cwd, found.migrationsDir);
    if (!migrationsDir) warnings.push(`node-pg-migrate's migrations dir ${found.migrationsDir} is outside the repository or a glob: not used`);
    else if (!isDirectory(cwd, migrationsDir)) warnings.push(`node-pg-migrate's migrations dir ${migrationsDir} does not exist (yet)`);
  }
  const supabase = isDirectory(cwd, 'supabase/migrations');
  if (supabase) evidence.push('supabase/migrations/');
  if (usesNodePgMigrate) {
    if (supabase) warnings.push('both node-pg-migrate and supabase/migrations found: node-pg-migrate is configured explicitly, so its folder is used');
    return { tool: 'node-pg-migrate', migrationsDir: migrationsDir ?? 'migrations', evidence, nodePgMigrate: found, warnings };
  }
  if (supabase) return { tool: 'supabase', migrationsDir: 'supabase/migrations', evidence, nodePgMigrate: {}, warnings };
  if (isDirectory(cwd, 'migrations')) evidence.push('migrations/');
  return { tool: 'none', migrationsDir: 'migrations', evidence, nodePgMigrate: {}, warnings };
}
