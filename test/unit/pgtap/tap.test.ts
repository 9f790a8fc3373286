import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateTap, parseTapLine } from '../../../src/pgtap/tap.ts';
import { prepareScript } from '../../../src/pgtap/script.ts';
import { toJunit } from '../../../src/pgtap/junit.ts';
import { knownExtensionDirs, pgtapInstallHint, pgtapSources, provisionEmbeddedPgTap } from '../../../src/pgtap/provision.ts';

describe('TAP lines', () => {
  it.each([
    ['1..4', { kind: 'plan', count: 4, skipAll: null }],
    ['1..0 # Skipped: no database', { kind: 'plan', count: 0, skipAll: 'no database' }],
    ['ok 1 - works', { kind: 'test', ok: true, number: 1, description: 'works', directive: null }],
    ['not ok 2 - broken # TODO later', { kind: 'test', ok: false, number: 2, description: 'broken', directive: { kind: 'todo', reason: 'later' } }],
    ['ok 3 # SKIP no pgcrypto', { kind: 'test', ok: true, number: 3, description: '', directive: { kind: 'skip', reason: 'no pgcrypto' } }],
    ['ok 4 - has a \\# inside', { kind: 'test', ok: true, number: 4, description: 'has a # inside', directive: null }],
    ['# Failed test 2', { kind: 'diagnostic', text: 'Failed test 2' }],
    ['Bail out! no schema', { kind: 'bail', reason: 'no schema' }],
    ['TAP version 13', { kind: 'version', version: 13 }],
    ['{"sub": "x"}', { kind: 'other', text: '{"sub": "x"}' }],
  ])('%s', (line, parsed) => {
    expect(parseTapLine(line)).toEqual(parsed);
  });
});

describe('evaluateTap', () => {
  it('passes a complete plan', () => {
    expect(evaluateTap(['1..2', 'ok 1 - a', 'ok 2 - b'])).toMatchObject({ ok: true, passed: 2, failed: 0, problems: [] });
  });
  it('attaches diagnostics to the failed test', () => {
    const r = evaluateTap(['1..1', 'not ok 1 - a', '# Failed test 1: "a"', '#         have: 1']);
    expect(r.ok).toBe(false);
    expect(r.tests[0]?.diagnostics).toEqual(['Failed test 1: "a"', '        have: 1']);
  });
  it('fails a plan mismatch, a missing plan, a bail out and a file that died', () => {
    expect(evaluateTap(['1..3', 'ok 1', 'ok 2']).problems).toEqual(['planned 3 tests but ran 2']);
    expect(evaluateTap(['ok 1']).problems).toEqual(['no plan (call plan(n) or finish() with no_plan())']);
    expect(evaluateTap(['1..2', 'ok 1', 'Bail out! stop']).problems).toEqual(['bailed out: stop', 'planned 2 tests but ran 1']);
    expect(evaluateTap(['1..1', 'ok 1'], 'line 3: boom').ok).toBe(false);
    expect(evaluateTap(['1..2', 'ok 1', 'ok 3']).problems).toEqual(['test 3 out of sequence (expected 2)']);
  });
  it('does not fail on TODO, and accepts a trailing plan (no_plan)', () => {
    expect(evaluateTap(['not ok 1 - later # TODO', 'ok 2', '1..2'])).toMatchObject({ ok: true, todo: 1, passed: 1 });
    expect(evaluateTap(['1..0 # skip nothing here'])).toMatchObject({ ok: true });
  });
});

describe('prepareScript', () => {
  it('splits with the real parser, drops meta-commands and transaction control, keeps lines', async () => {
    const s = await prepareScript("\\set ECHO none\nBEGIN;\nSELECT plan(1);\nSELECT $$a;b$$;\n-- note\nSELECT ok(true);\nROLLBACK TO SAVEPOINT x;\nCOMMIT;\n");
    expect(s.statements.map((x) => [x.line, x.sql])).toEqual([[3, 'SELECT plan(1)'], [4, 'SELECT $$a;b$$'], [5, '-- note\nSELECT ok(true)'], [7, 'ROLLBACK TO SAVEPOINT x']]);
    expect(s.dropped.map((d) => [d.line, d.what])).toEqual([[1, '\\set ECHO none'], [2, 'BEGIN'], [8, 'COMMIT']]);
  });
  it('reports a syntax error with its line', async () => {
    expect((await prepareScript('SELECT 1;\nSELEC 2;\n')).syntaxError?.line).toBe(2);
  });
});

describe('JUnit', () => {
  it('writes failures, skips and file errors, escaped', () => {
    const tap = evaluateTap(['1..3', 'ok 1 - a <b>', 'not ok 2 - c & d', '# have: 1', 'ok 3 # SKIP later'], null);
    const xml = toJunit([{ file: 'x.sql', tap, output: [], dropped: [], durationMs: 12 }, { file: 'y.sql', tap: evaluateTap([], 'line 1: boom'), output: [], dropped: [], durationMs: 1 }]);
    expect(xml).toContain('name="1 - a &lt;b&gt;"');
    expect(xml).toContain('<failure message="c &amp; d"># have: 1'.replace('# ', ''));
    expect(xml).toContain('<skipped message="skip: later"/>');
    expect(xml).toMatch(/<testsuite name="y.sql" tests="1" failures="0" errors="1"/);
    expect(xml).toMatch(/<testsuites name="dbkit test" tests="4" failures="1" errors="1"/);
  });
});

describe('pgTAP provisioning', () => {
  it('says exactly what to install, per platform, when no installation has pgTAP', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'dbkit-no-pgtap-'));
    try {
      const error = await provisionEmbeddedPgTap([empty]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PGTAP_UNAVAILABLE', message: `pgTAP is not installed: the embedded PostgreSQL 17 ships none, and DBKIT_PGTAP_DIR (${empty}) has no pgtap.control` });
      expect(error).toMatchObject({ hint: pgtapInstallHint() });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(pgtapInstallHint()).toBe(
      "install pgTAP: Debian/Ubuntu apt-get install postgresql-NN-pgtap (NN: any PostgreSQL major; pgTAP is plain SQL); macOS brew install pgtap; Supabase's images have it (CREATE EXTENSION pgtap); or set DBKIT_PGTAP_DIR to a folder holding pgtap.control",
    );
    expect(pgtapInstallHint('15')).toContain('apt-get install postgresql-15-pgtap;');
  });

  it('searches only DBKIT_PGTAP_DIR when it is set, every known installation otherwise', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dbkit-pgtap-dir-'));
    try {
      expect(pgtapSources([dir])).toEqual({ found: [], searched: [dir] });
      writeFileSync(path.join(dir, 'pgtap.control'), "default_version = '1.3.3'\n");
      expect(pgtapSources([dir]).found).toEqual([dir]);
      const known = knownExtensionDirs();
      expect(known).toContain('/usr/share/pgsql/extension');
      expect(known).toContain('/opt/homebrew/share/postgresql/extension');
      expect(pgtapSources(null).searched.slice(0, known.length)).toEqual(known);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
