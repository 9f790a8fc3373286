/**
 * Validation after apply and rollback: the expectations declared beside the migrations, checked
 * against the database, each check printed, and the failure they amount to.
 */
import type pg from 'pg';
import { DbkitError } from '../errors.js';
import type { CheckResult, ExpectationSet, ValidationTarget } from '../core/validation.js';
import { errorDocument, type ErrorDocument } from '../output/errors.js';
import type { Reporter } from '../output/terminal.js';
import { runValidation } from '../migrations/session.js';

export interface ValidationStepOptions {
  /** The step's name; without one the checks are printed with no step line. */
  label?: string;
  /** Show the step even when no expectation is declared for the targets (apply's 'validation'). */
  always?: boolean;
  /** The step's detail when there was nothing to check. */
  noneDetail?: string;
}

export async function validationStep(client: pg.ClientBase, expectations: ExpectationSet, targets: readonly ValidationTarget[], reporter: Reporter, options: ValidationStepOptions = {}): Promise<CheckResult[]> {
  const shown = options.label !== undefined && (options.always || targets.some((t) => expectations[t.migration]));
  const step = shown ? reporter.step(options.label!) : null;
  const results = await runValidation(client, expectations, targets);
  const bad = results.filter((r) => !r.ok).length;
  if (bad > 0) step?.fail(`${bad} of ${results.length} checks failed`);
  else step?.done(results.length === 0 ? (options.noneDetail ?? 'no checks declared') : `${results.length} checks passed`);
  const c = reporter.color;
  for (const r of results) reporter.info(`    ${r.ok ? c.green('✓') : c.red('✗')} ${r.label}${r.ok ? c.dim(`  ${r.actual}`) : `: expected ${r.expected}, found ${r.actual}`}`);
  return results;
}

/** VALIDATION_FAILED naming every failed check ("validation failed <where>: ..."). */
export function validationFailure(checks: readonly CheckResult[], where: string, hint: string): ErrorDocument {
  const bad = checks.filter((c) => !c.ok);
  return errorDocument(new DbkitError('VALIDATION_FAILED', `validation failed${where ? ` ${where}` : ''}: ${bad.map((c) => `${c.label} (expected ${c.expected}, found ${c.actual})`).join('; ')}`, { hint }));
}
