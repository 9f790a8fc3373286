/**
 * SARIF 2.1.0 for code-scanning upload: one result per finding and per matrix leak. A leak's result
 * carries its evidence: the identities, operation, table and fix in its message, and the SQL that
 * reproduces it in the message's markdown and in its property bag. Pure.
 */
import type { Finding, Level } from './model.js';
import type { MatrixCell } from './matrix.js';

export interface SarifRule {
  id: string;
  title: string;
  description: string;
  level: Level;
  splinter: string | null;
}

const SARIF_LEVEL: Record<Level, 'error' | 'warning' | 'note'> = { error: 'error', warn: 'warning', info: 'note' };

export const LEAK_RULE: SarifRule = {
  id: 'isolation-leak',
  title: 'Tenant isolation leak',
  description: 'Acting as an API identity, the isolation matrix could read or change rows that the tenancy map says it must not reach.',
  level: 'error',
  splinter: null,
};

export const UNSEEDABLE_RULE: SarifRule = {
  id: 'matrix-unseedable',
  title: 'Table the isolation matrix could not seed',
  description: 'The isolation matrix could not insert a row of this table (the constraint named stopped it), so none of its cells was probed: its isolation is unproven.',
  level: 'warn',
  splinter: null,
};

/** Where an object is declared: a file (relative to the repository) and line. */
export type Locate = (object: string) => { uri: string; line: number } | null;

export function toSarif(input: { version: string; rules: readonly SarifRule[]; findings: readonly Finding[]; leaks: readonly MatrixCell[]; unseedable?: readonly { table: string; constraint: string; reason: string }[]; locate: Locate }): object {
  const result = (ruleId: string, level: Level, text: string, object: string, kind: string, extra: { markdown?: string; properties?: object; fingerprint?: string } = {}) => {
    const where = input.locate(object);
    return {
      ruleId,
      level: SARIF_LEVEL[level],
      message: { text, ...(extra.markdown ? { markdown: extra.markdown } : {}) },
      locations: [
        {
          ...(where ? { physicalLocation: { artifactLocation: { uri: where.uri }, region: { startLine: where.line } } } : {}),
          logicalLocations: [{ fullyQualifiedName: object, kind }],
        },
      ],
      partialFingerprints: { dbkitObject: extra.fingerprint ?? `${ruleId}:${object}` },
      ...(extra.properties ? { properties: extra.properties } : {}),
    };
  };
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'dbkit rls-audit',
            version: input.version,
            rules: [...input.rules, LEAK_RULE, UNSEEDABLE_RULE].map((r) => ({
              id: r.id,
              name: r.title,
              shortDescription: { text: r.title },
              fullDescription: { text: r.description },
              defaultConfiguration: { level: SARIF_LEVEL[r.level] },
              properties: { splinter: r.splinter, tags: ['security', 'rls'] },
            })),
          },
        },
        results: [
          ...input.findings.map((f) => result(f.rule, f.level, `${f.message}. Fix: ${f.fix}${f.splinter ? ` (splinter: ${f.splinter})` : ''}`, f.object, f.objectType)),
          ...input.leaks.map((c) => {
            const text = `${c.identities.join(' -> ')}: ${c.operation} on ${c.table}${c.target ? ` (${c.target})` : ''}: expected ${c.expected}, got ${c.actual} (${c.detail}). Fix: ${c.fix}`;
            // A fence longer than any backtick run in the SQL, so that names cannot close it.
            const fence = '`'.repeat(Math.max(3, ...[...c.reproduction.matchAll(/`+/g)].map((m) => m[0].length + 1)));
            return result(LEAK_RULE.id, 'error', text, c.table, 'table', {
              fingerprint: `${LEAK_RULE.id}:${c.table}:${c.identity}:${c.operation}${c.target ? `:${c.target}` : ''}`,
              markdown: `${text.replace(/[\\`*_{}\[\]<>()#+\-.!|]/g, '\\$&')}\n\nReproduce (psql, rolled back):\n\n${fence}sql\n${c.reproduction}\n${fence}`,
              properties: { identities: c.identities, operation: c.operation, table: c.table, target: c.target ?? null, expected: c.expected, actual: c.actual, reproduction: c.reproduction, fix: c.fix },
            });
          }),
          ...(input.unseedable ?? []).map((u) => result(UNSEEDABLE_RULE.id, 'warn', `${u.table} could not be seeded (${u.constraint}): ${u.reason}. Its isolation is unproven; give the column a value in the tenancy map (values) or fix the constraint`, u.table, 'table', { properties: { constraint: u.constraint, reason: u.reason } })),
        ],
      },
    ],
  };
}
