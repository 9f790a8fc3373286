/**
 * dbkit rls-audit: static lints over the catalog, policy drift against policies/, and the
 * impersonation isolation matrix, in one report. Read-only except the matrix, which writes only
 * inside a transaction it rolls back (and proves it, with row counts before and after).
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import type { ResolvedConfig } from '../config.js';
import { DbkitError } from '../errors.js';
import type { Reporter } from '../output/terminal.js';
import { withDatabaseTarget } from '../embedded/target.js';
import { databaseFacts, type DatabaseTarget } from '../db/target.js';
import { connectChecked } from '../migrations/session.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import { runtimeFor, settingOption } from '../runtime.js';
import { dbkitVersion } from '../version.js';
import { readAuditCatalog } from '../audit/catalog.js';
import { lint, sortFindings } from '../audit/lint.js';
import { RULES } from '../audit/rules/index.js';
import { compareDrift, DRIFT_RULES } from '../audit/drift.js';
import { normaliseDeclarations } from '../audit/normalise.js';
import { loadPolicyProject } from '../audit/project.js';
import { absentFromDatabase, coverageNotice } from '../audit/coverage.js';
import { matrixNeeds } from '../audit/privileges.js';
import { resolveTenancy } from '../audit/tenancy.js';
import { assertPrivileges } from '../db/privileges.js';
import { runIsolationMatrix, type Residue } from '../audit/impersonate.js';
import type { MatrixCell } from '../audit/matrix.js';
import { DEFAULT_API_ROLES, FAIL_ON, LEVEL_RANK, MANAGED_SCHEMAS, type AuditSettings, type FailOn } from '../audit/model.js';
import { toSarif } from '../audit/sarif.js';
import { renderAudit, summaryLine } from '../audit/render.js';
import { renderDiff } from '../audit/render-diff.js';
import { diffSnapshot, readSnapshot, takeSnapshot, writeSnapshot, type Snapshot, type SnapshotDiff } from '../audit/snapshot.js';
import { pgtapSuite } from '../audit/pgtap-export.js';
import type { MatrixProof } from '../audit/proof.js';
import type { AuditReport } from '../audit/report.js';
import { locator, writeOutput } from '../audit/files.js';
import type { Unseedable } from '../audit/seed.js';
import { inferFromCatalog } from '../audit/infer-catalog.js';
import { tenancyModule, type MatrixTenancy } from '../audit/infer-print.js';
import type { InferredTenancy } from '../audit/infer-tenancy.js';
import { grantedExpectations } from '../audit/infer-expect.js';
import { humanReporter } from '../output/terminal.js';
import { exportable } from '../audit/pgtap-export.js';
import type { TenancyMap } from '../audit/tenancy.js';

export interface AuditOptions {
  matrix: boolean;
  drift: boolean;
  failOn: FailOn;
  sarif: string | null;
  /** Save the matrix and findings to this file. */
  snapshot: string | null;
  /** Compare with this snapshot: only what got worse fails. */
  diff: string | null;
  /** Write the matrix as a pgTAP suite to this file. */
  exportPgtap: string | null;
}

export type { AuditReport } from '../audit/report.js';

export async function auditRls(config: ResolvedConfig, options: AuditOptions, reporter: Reporter): Promise<AuditReport> {
  const started = performance.now();
  const shown = (file: string) => {
    const relative = path.relative(config.cwd, path.resolve(config.cwd, file));
    return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : path.resolve(config.cwd, file);
  };
  if (options.exportPgtap && !options.matrix) throw new DbkitError('USAGE', '--export-pgtap writes the isolation matrix, which --no-matrix skips', { hint: 'drop --no-matrix' });
  // The snapshot is untrusted input: checked before anything is read from the database.
  const baseline: Snapshot | null = options.diff ? await readSnapshot(path.resolve(config.cwd, options.diff), shown(options.diff)) : null;
  const project = await loadPolicyProject(config.policiesDir, config.cwd);
  const roles = { ...DEFAULT_API_ROLES, ...(project.tenancy?.map.roles ?? {}) };
  const settings: AuditSettings = { exposedSchemas: config.exposedSchemas, managedSchemas: MANAGED_SCHEMAS, sensitive: config.sensitive, privilegedRoles: config.privilegedRoles, roles };
  return withDatabaseTarget(config, reporter, async (target) => {
    const { client, server } = await connectChecked(target);
    try {
      let step = reporter.step('read catalog');
      const catalog = await readAuditCatalog(client, roles);
      const tables = catalog.relations.filter((r) => r.kind === 'table' && !settings.managedSchemas.includes(r.schema));
      step.done(`${tables.length} tables, ${tables.reduce((n, r) => n + r.policies.length, 0)} policies, ${catalog.functions.length} functions`);
      const dirShown = path.relative(config.cwd, config.policiesDir) || config.policiesDir;
      const absent = absentFromDatabase(project, catalog, roles);
      // A declared map that describes this database, else one inferred from the catalog.
      const declared = project.tenancy !== null && absent.tables.length + absent.roles.length === 0;
      const rolesPresent = [roles.anon, roles.authenticated, roles.service].every((r) => catalog.apiRolesPresent.includes(r));
      let map: { map: TenancyMap; file: string } | null = declared ? project.tenancy : null;
      let tenancy: MatrixTenancy | null = declared ? { source: 'declared', file: project.tenancy!.file, notes: {}, unplaced: [] } : null;
      if (!declared && options.matrix && rolesPresent) {
        step = reporter.step('infer tenancy');
        const inferred = await inferFromCatalog(client, catalog, settings);
        step.done(`${inferred.map.tables.length} table(s) placed${inferred.unplaced.length ? `, ${inferred.unplaced.length} left out` : ''}`);
        if (inferred.map.tables.length > 0) {
          map = { map: inferred.map, file: 'inferred from the catalog' };
          tenancy = { source: 'inferred', file: null, notes: inferred.notes, unplaced: inferred.unplaced };
        }
      }
      const notice = coverageNotice(absent, dirShown, { inferred: tenancy?.source === 'inferred' });
      const runMatrix = options.matrix && map !== null;
      if (runMatrix && map && !server.superuser) {
        // Pre-flight for the matrix, before any work: it seeds tenants and acts as the API roles.
        await assertPrivileges(client, matrixNeeds(resolveTenancy(map.map, map.file)), 'the isolation matrix of dbkit rls-audit', ' Or skip the matrix with --no-matrix.');
      }
      step = reporter.step(`lint (${RULES.length} rules)`);
      const findings = await lint(catalog, settings);
      step.done(`${findings.length} finding(s)`);

      const otherSchema = 'skipped: the policies folder describes another schema (see the notice)';
      const drift: AuditReport['drift'] = { source: null, compared: 0, unverified: 0, skipped: null };
      let driftCount = 0;
      if (!options.drift) drift.skipped = 'skipped (--no-drift)';
      else if (project.policies.length === 0) drift.skipped = `skipped: no policies declared in ${dirShown}/`;
      else if (absent.tables.length > 0) drift.skipped = otherSchema;
      else {
        step = reporter.step('drift');
        const normalised = await normaliseDeclarations(client, project.policies);
        const found = compareDrift(normalised, catalog.relations, server.user);
        drift.unverified = found.filter((f) => f.rule === 'policy-drift-unverified').length;
        driftCount = found.length - drift.unverified;
        findings.push(...found);
        drift.source = [...new Set(project.policies.map((p) => p.file))].join(', ');
        drift.compared = project.policies.length;
        step.done(`${driftCount === 0 ? 'no drift' : `${driftCount} difference(s)`}${drift.unverified > 0 ? `; ${drift.unverified} cannot verify (permission denied)` : ''}`);
      }

      let matrix: MatrixCell[] = [];
      let proof: MatrixProof | null = null;
      let residue: Residue | null = null;
      let matrixSkipped: string | null = null;
      let unseedable: Unseedable[] = [];
      if (!options.matrix) matrixSkipped = 'skipped (--no-matrix)';
      else if (!map) matrixSkipped = !rolesPresent ? `skipped: the API roles (${[roles.anon, roles.authenticated, roles.service].join(', ')}) do not all exist` : `skipped: no tenancy map exported from ${dirShown}/ and none could be inferred (no table with RLS ties its rows to auth.uid())`;
      else {
        const keep = tenancy?.source === 'inferred' ? grantedExpectations(catalog.relations, roles) : undefined;
        const result = await runIsolationMatrix(client, map.map, map.file, reporter, { attacks: { exposedSchemas: settings.exposedSchemas }, ...(keep ? { keep } : {}) });
        matrix = result.cells;
        proof = result.proof;
        residue = result.residue;
        unseedable = result.unseedable;
      }

      const sorted = sortFindings(findings);
      const count = (level: string) => sorted.filter((f) => f.level === level).length;
      const report: AuditReport = {
        command: 'rls-audit',
        ok: false,
        database: databaseFacts(target),
        server: { version: server.version, versionNum: server.versionNum },
        findings: sorted,
        drift,
        matrix,
        matrixSource: map?.file ?? null,
        matrixSkipped,
        tenancy,
        unseedable,
        residue,
        notice,
        absent,
        diff: baseline && options.diff ? { file: shown(options.diff), ...diffSnapshot(baseline, matrix, sorted, options.failOn) } : null,
        written: { snapshot: null, pgtap: null },
        summary: {
          errors: count('error'), warnings: count('warn'), info: count('info'), drift: driftCount, rules: RULES.length + (drift.source ? DRIFT_RULES.length : 0),
          tables: tables.length, policies: tables.reduce((n, r) => n + r.policies.length, 0),
          matrixCells: matrix.length, leaks: matrix.filter((c) => c.verdict === 'leak').length, blocked: matrix.filter((c) => c.verdict === 'blocked').length,
          probeErrors: matrix.filter((c) => c.verdict === 'error').length, unseedable: unseedable.length, failOn: options.failOn, durationMs: 0,
        },
        error: null,
      };
      report.error = failure(report, options.failOn);
      report.ok = report.error === null;
      if (options.sarif) await writeSarif(options.sarif, report, config);
      if (options.snapshot) {
        await writeSnapshot(path.resolve(config.cwd, options.snapshot), takeSnapshot({ dbkit: dbkitVersion(), server: server.version, database: report.database.name, matrixSource: report.matrixSource, matrixSkipped, cells: matrix, findings: sorted }));
        report.written.snapshot = shown(options.snapshot);
      }
      if (options.exportPgtap) {
        if (!proof) throw new DbkitError('USAGE', `--export-pgtap: nothing to export, the isolation matrix did not run (${matrixSkipped ?? 'no cells'})`, { hint: 'export a tenancy map from the policies folder (see README "Tenancy map")' });
        await writeOutput(path.resolve(config.cwd, options.exportPgtap), pgtapSuite(proof, { dbkit: dbkitVersion() }), 'the pgTAP suite');
        report.written.pgtap = { file: shown(options.exportPgtap), tests: proof.probes.filter(exportable).length };
      }
      report.summary.durationMs = Math.round(performance.now() - started);
      return report;
    } finally {
      await client.end().catch(() => {});
    }
  });
}

export interface TenancyReport {
  command: 'rls-audit';
  ok: boolean;
  database: { url: string; kind: DatabaseTarget['kind']; name: string };
  tenancy: InferredTenancy;
  /** The map as a policies/ module (what --print-tenancy prints). */
  module: string;
  error: ErrorDocument | null;
}

/** --print-tenancy: the tenancy map inferred from the catalog, as a module for policies/. Reads only. */
export async function printTenancy(config: ResolvedConfig, reporter: Reporter): Promise<TenancyReport> {
  return withDatabaseTarget(config, reporter, async (target) => {
    const { client } = await connectChecked(target);
    try {
      const project = await loadPolicyProject(config.policiesDir, config.cwd);
      const roles = { ...DEFAULT_API_ROLES, ...(project.tenancy?.map.roles ?? {}) };
      const step = reporter.step('infer tenancy');
      const catalog = await readAuditCatalog(client, roles);
      const tenancy = await inferFromCatalog(client, catalog, { managedSchemas: MANAGED_SCHEMAS, exposedSchemas: config.exposedSchemas });
      step.done(`${tenancy.map.tables.length} table(s) placed${tenancy.unplaced.length ? `, ${tenancy.unplaced.length} left out` : ''}`);
      const database = databaseFacts(target);
      return { command: 'rls-audit', ok: true, database, tenancy, module: tenancyModule(tenancy, { database: database.name, dbkit: dbkitVersion() }), error: null };
    } finally {
      await client.end().catch(() => {});
    }
  });
}

/** With --diff, only what got worse since the snapshot fails (and a run that proved nothing). */
function diffFailure(report: AuditReport, diff: SnapshotDiff & { file: string }): ErrorDocument | null {
  const worse: string[] = [];
  if (diff.regressions.length > 0) worse.push(`${diff.regressions.length} matrix cell(s) went from denied to allowed (or are new leaks)`);
  if (diff.newlyBlocked.length > 0) worse.push(`${diff.newlyBlocked.length} expected access(es) newly blocked`);
  if (diff.newFindings.length > 0) worse.push(`${diff.newFindings.length} new finding(s) at or above ${report.summary.failOn}`);
  if (worse.length > 0) return errorDocument(new DbkitError('RLS_AUDIT_REGRESSION', `rls-audit: worse than ${diff.file}: ${worse.join(', ')}`, { hint: 'fix what is listed above; once a change is intended, take a new snapshot with --snapshot' }));
  const invalid: string[] = [];
  if (report.summary.probeErrors > 0) invalid.push(`${report.summary.probeErrors} probe(s) failed to run`);
  if (report.residue && !report.residue.clean) invalid.push('rows were left behind');
  if (invalid.length === 0) return null;
  return errorDocument(new DbkitError('RLS_AUDIT_FAILED', `rls-audit failed: ${invalid.join(', ')}`, { hint: 'fix what is listed above' }));
}

function failure(report: AuditReport, failOn: FailOn): ErrorDocument | null {
  if (report.diff) return diffFailure(report, report.diff);
  const s = report.summary;
  const problems: string[] = [];
  if (failOn !== 'never') {
    const failing = report.findings.filter((f) => LEVEL_RANK[f.level] >= LEVEL_RANK[failOn]).length;
    if (failing > 0) problems.push(`${failing} finding(s) at or above ${failOn}`);
    if (s.unseedable > 0 && LEVEL_RANK.warn >= LEVEL_RANK[failOn]) problems.push(`${s.unseedable} table(s) the matrix could not seed`);
  }
  if (s.leaks > 0) problems.push(`${s.leaks} isolation leak(s)`);
  if (s.blocked > 0) problems.push(`${s.blocked} expected access(es) blocked`);
  if (s.probeErrors > 0) problems.push(`${s.probeErrors} probe(s) failed to run`);
  if (report.residue && !report.residue.clean) problems.push('rows were left behind');
  if (problems.length === 0) return null;
  return errorDocument(new DbkitError('RLS_AUDIT_FAILED', `rls-audit failed: ${problems.join(', ')}`, { hint: 'fix what is listed above; --fail-on sets the level that fails the audit' }));
}

async function writeSarif(file: string, report: AuditReport, config: ResolvedConfig): Promise<void> {
  const sarif = toSarif({ version: dbkitVersion(), rules: [...RULES, ...DRIFT_RULES], findings: report.findings, leaks: report.matrix.filter((c) => c.verdict === 'leak'), unseedable: report.unseedable, locate: locator([config.policiesDir, config.migrationsDir], config.cwd) });
  await writeOutput(path.resolve(config.cwd, file), `${JSON.stringify(sarif, null, 2)}\n`, 'SARIF');
}

export function registerRlsAudit(program: Command): void {
  const command = program
    .command('rls-audit')
    .description('Find RLS holes (lint rules, policy drift against policies/) and prove tenant isolation by impersonating anon, two tenants and service_role.')
    .addOption(new Option('--fail-on <level>', 'lowest finding level that fails the audit').choices(FAIL_ON).default('error'))
    .option('--no-matrix', 'skip the isolation matrix (no writes at all, not even rolled-back ones)')
    .option('--no-drift', 'skip the comparison with the policies declared in policies/')
    .option('--sarif <file>', 'also write the findings and leaks as SARIF 2.1.0 (for code-scanning upload)')
    .option('--snapshot <file>', 'save the matrix and findings as versioned JSON (no secrets), to compare with later')
    .option('--diff <file>', 'compare with a snapshot: only what got worse fails (a cell denied then allowed, a new leak, a new finding at or above --fail-on)')
    .option('--export-pgtap <file>', 'write the isolation matrix as a pgTAP suite (e.g. tests-sql/rls-matrix.sql) that dbkit test runs')
    .option('--verbose', 'list every finding of a rule (folded into one line by default) and every reproduction')
    .option('--print-tenancy', 'print the tenancy map inferred from the catalog, as a module for policies/ (with the evidence for each guess), and audit nothing');
  for (const name of ['policiesDir', 'exposedSchemas', 'sensitive', 'privilegedRoles'] as const) settingOption(command, name);
  command
    .option('--json', 'print one JSON document: { findings, matrix, summary, ... } (shape in README)')
    .addHelpText('after', [
      '\nExamples:',
      '  $ npx dbkit rls-audit',
      '  $ npx dbkit rls-audit --db "$DATABASE_URL" --fail-on warn --sarif rls.sarif',
      '  $ npx dbkit rls-audit --no-matrix --json',
      '  $ npx dbkit rls-audit --snapshot rls-snapshot.json            # keep the proof',
      '  $ npx dbkit rls-audit --diff rls-snapshot.json                # in CI: fail only on what got worse',
      '  $ npx dbkit rls-audit --export-pgtap tests-sql/rls-matrix.sql && npx dbkit test',
      '  $ npx dbkit rls-audit --print-tenancy > policies/tenancy.ts      # start from the inferred map',
    ].join('\n'))
    .action(async (opts: { failOn: FailOn; matrix: boolean; drift: boolean; sarif?: string; snapshot?: string; diff?: string; exportPgtap?: string; verbose?: boolean; printTenancy?: boolean }, cmd: Command) => {
      const runtime = runtimeFor(cmd);
      if (opts.printTenancy) {
        // The module goes to stdout (to redirect into policies/), progress to stderr.
        const report = await printTenancy(runtime.config, runtime.json ? runtime.reporter : humanReporter(process.stderr));
        runtime.finish(report, (r) => process.stdout.write(r.module));
        return;
      }
      const options: AuditOptions = { failOn: opts.failOn, matrix: opts.matrix, drift: opts.drift, sarif: opts.sarif ?? null, snapshot: opts.snapshot ?? null, diff: opts.diff ?? null, exportPgtap: opts.exportPgtap ?? null };
      const report = await auditRls(runtime.config, options, runtime.reporter);
      runtime.finish(report, (r) => {
        renderAudit(r, runtime.reporter, { verbose: Boolean(opts.verbose) });
        if (r.diff) renderDiff(r.diff, runtime.reporter, { verbose: Boolean(opts.verbose) });
        if (r.written.snapshot) runtime.reporter.info(`Snapshot  written to ${r.written.snapshot}`);
        if (r.written.pgtap) runtime.reporter.info(`pgTAP  ${r.written.pgtap.tests} tests written to ${r.written.pgtap.file} (run them with dbkit test)`);
        runtime.reporter.info(summaryLine(r, runtime.reporter));
      });
    });
}
