import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectProject, nodePgMigrateArgs, repositoryPath, shellWords } from '../../../src/init/detect.ts';
import { adoptionSettings, envExample, planConfig } from '../../../src/init/templates.ts';
import { SETTINGS } from '../../../src/config.ts';

describe('reading node-pg-migrate command lines', () => {
  it('splits words as a shell does: quotes join, separators stand alone', () => {
    expect(shellWords(`A=1 node-pg-migrate -m "db/my migrations" --ignore-pattern '\\..*|.*\\.md' up && echo ok`)).toEqual(['A=1', 'node-pg-migrate', '-m', 'db/my migrations', '--ignore-pattern', '\\..*|.*\\.md', 'up', '&&', 'echo', 'ok']);
  });

  it('takes the flags node-pg-migrate reads, in both spellings, and stops at the next command', () => {
    expect(nodePgMigrateArgs('npx node-pg-migrate up -m db/migrations -t pgm --migrations-schema=admin -j sql; node-pg-migrate -m other')).toEqual({ migrationsDir: 'db/migrations', migrationsTable: 'pgm', migrationsSchema: 'admin', language: 'sql' });
    expect(nodePgMigrateArgs('./node_modules/.bin/node-pg-migrate --migrations-dir=src/db --config-file config/pg.json up')).toEqual({ migrationsDir: 'src/db', configFile: 'config/pg.json' });
    expect(nodePgMigrateArgs('knex migrate:latest')).toBeNull();
  });

  it('keeps only folders inside the repository', () => {
    expect(repositoryPath('/repo', 'db/migrations')).toBe('db/migrations');
    expect(repositoryPath('/repo', './db/../migrations')).toBe('migrations');
    expect(repositoryPath('/repo', '../elsewhere')).toBeNull();
    expect(repositoryPath('/repo', '/etc')).toBeNull();
    expect(repositoryPath('/repo', 'migrations/**/*.js')).toBeNull();
    expect(repositoryPath('/repo', '.')).toBeNull();
  });
});

describe('detecting a repository\'s migration setup', () => {
  const dirs: string[] = [];
  const repo = (files: Record<string, string>, folders: string[] = []) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-detect-'));
    dirs.push(dir);
    for (const f of folders) mkdirSync(path.join(dir, f), { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), content);
    }
    return dir;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('node-pg-migrate from package.json scripts', () => {
    const d = detectProject(repo({ 'package.json': JSON.stringify({ scripts: { migrate: 'node-pg-migrate -m db/migrations --migrations-table pgm up' } }) }, ['db/migrations']));
    expect(d).toMatchObject({ tool: 'node-pg-migrate', migrationsDir: 'db/migrations', nodePgMigrate: { migrationsTable: 'pgm' }, warnings: [] });
  });

  it('node-pg-migrate from .pgmigraterc, its --config-file and config/default.json', () => {
    expect(detectProject(repo({ '.pgmigraterc': JSON.stringify({ 'migrations-dir': 'sql/migrations', 'ignore-pattern': '.*\\.md' }) }, ['sql/migrations']))).toMatchObject({ tool: 'node-pg-migrate', migrationsDir: 'sql/migrations', nodePgMigrate: { ignorePattern: '.*\\.md' } });
    const viaFile = repo({ 'package.json': JSON.stringify({ scripts: { up: 'node-pg-migrate up -f config/pg.json' } }), 'config/pg.json': JSON.stringify({ db: { 'migrations-dir': 'm', 'migrations-schema': 'ops' } }) }, ['m']);
    expect(detectProject(viaFile)).toMatchObject({ migrationsDir: 'm', nodePgMigrate: { migrationsSchema: 'ops' } });
    const viaConfigPackage = repo({ 'package.json': JSON.stringify({ devDependencies: { 'node-pg-migrate': '^7' } }), 'config/default.json': JSON.stringify({ db: { 'migrations-table': 'history' } }) });
    expect(detectProject(viaConfigPackage)).toMatchObject({ tool: 'node-pg-migrate', migrationsDir: 'migrations', nodePgMigrate: { migrationsTable: 'history' } });
  });

  it('a Supabase CLI folder', () => {
    expect(detectProject(repo({ 'supabase/migrations/20240101000000_init.sql': 'create table t ();' }))).toMatchObject({ tool: 'supabase', migrationsDir: 'supabase/migrations' });
  });

  it('hostile or broken files become warnings, never a crash or a folder outside the repository', () => {
    expect(detectProject(repo({ 'package.json': '{ not json' })).warnings[0]).toMatch(/^package.json: not valid JSON/);
    expect(detectProject(repo({ 'package.json': JSON.stringify({ scripts: 'rm -rf /' }) })).warnings[0]).toMatch(/^package.json: scripts/);
    const escaping = detectProject(repo({ 'package.json': JSON.stringify({ scripts: { m: 'node-pg-migrate -m ../../etc up' } }) }));
    expect(escaping.migrationsDir).toBe('migrations');
    expect(escaping.warnings.join()).toContain('outside the repository');
    const linked = repo({});
    symlinkSync('/etc/hostname', path.join(linked, 'package.json'));
    expect(detectProject(linked).warnings[0]).toContain('not a regular file');
  });

  it('nothing to go on: no tool, the default folder', () => {
    expect(detectProject(repo({}))).toMatchObject({ tool: 'none', migrationsDir: 'migrations', evidence: [] });
  });
});

describe('what init writes', () => {
  const detection = { tool: 'node-pg-migrate' as const, migrationsDir: 'db/migrations', evidence: [], nodePgMigrate: { migrationsTable: 'pgm', ignorePattern: '.*\\.md' }, warnings: [] };

  it('the config holds only keys dbkit knows; the others are reported, keyed for the settings they are meant for', () => {
    expect(adoptionSettings(detection)).toEqual({ migrationsTable: 'pgm', ignorePattern: '.*\\.md' });
    const plan = planConfig(detection, { policiesDir: 'policies', testsDir: 'tests-sql' });
    const known = new Set<string>(Object.values(SETTINGS).map((s) => s.key));
    for (const key of Object.keys(plan.config)) expect(known.has(key), key).toBe(true);
    expect(plan.config.migrationsDir).toBe('db/migrations');
    for (const [key, value] of Object.entries(adoptionSettings(detection))) expect(plan.config[key] ?? plan.notWritten[key]).toBe(value);
  });

  it('.env.example lists every setting\'s variable, commented out', () => {
    const text = envExample({ migrationsDir: 'db/migrations' });
    for (const spec of Object.values(SETTINGS)) expect(text).toContain(`# ${spec.env}=`);
    expect(text).toContain('# DBKIT_MIGRATIONS_DIR=db/migrations');
    expect(text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'))).toEqual([]);
  });
});
