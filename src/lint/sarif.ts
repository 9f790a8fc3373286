/** SARIF 2.1.0 for lint findings (code-scanning upload). Pure. */
import type { LintFinding } from './model.js';

export function lintSarif(version: string, squawkVersion: string, findings: readonly LintFinding[]): object {
  const rules = [...new Map(findings.map((f) => [f.rule, f])).values()].map((f) => ({
    id: f.rule,
    name: f.rule,
    shortDescription: { text: f.rule },
    helpUri: f.url,
    properties: { tags: ['migration', 'postgresql', 'squawk'] },
  }));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'dbkit lint', version, informationUri: 'https://squawkhq.com', properties: { squawk: squawkVersion }, rules } },
        results: findings.map((f) => ({
          ruleId: f.rule,
          level: f.level === 'error' ? 'error' : 'warning',
          message: { text: `${f.message}${f.help ? ` ${f.help}` : ''} (statement ${f.statementIndex + 1}: ${f.statement})` },
          locations: [{ physicalLocation: { artifactLocation: { uri: f.file }, ...(f.line ? { region: { startLine: f.line } } : {}) } }],
          partialFingerprints: { dbkitStatement: `${f.rule}:${f.migration}:${f.statementIndex}` },
        })),
      },
    ],
  };
}
