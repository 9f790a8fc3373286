/** Runs the lint rules over a catalog: pure, after the parser is loaded. */
import { ExpressionSyntaxError, initParser } from './expr.js';
import { RULES } from './rules/index.js';
import { LEVEL_RANK, type AuditCatalog, type AuditRule, type AuditSettings, type Finding } from './model.js';

export async function lint(catalog: AuditCatalog, settings: AuditSettings, rules: readonly AuditRule[] = RULES): Promise<Finding[]> {
  await initParser();
  const findings: Finding[] = [];
  for (const rule of rules) {
    try {
      findings.push(...rule.check(catalog, settings));
    } catch (error) {
      if (!(error instanceof ExpressionSyntaxError)) throw error;
      findings.push({ rule: rule.id, level: 'warn', object: '-', objectType: 'policy', message: `rule ${rule.id} could not parse a policy expression: ${error.message}`, fix: 'report this to dbkit with the policy text', splinter: null });
    }
  }
  return sortFindings(findings);
}

export function sortFindings(findings: Finding[]): Finding[] {
  const order = new Map(RULES.map((r, i) => [r.id, i]));
  return [...findings].sort((a, b) => LEVEL_RANK[b.level] - LEVEL_RANK[a.level] || (order.get(a.rule) ?? 99) - (order.get(b.rule) ?? 99) || a.object.localeCompare(b.object));
}
