/**
 * --print-tenancy: the inferred tenancy map as a module for the policies/ folder (the same
 * TenancyMap type a hand-written one has), with the evidence for each guess as a comment above it
 * and the tables left out, with why. Pure.
 */
import type { InferredTenancy } from './infer-tenancy.js';

/** How the matrix got its tenancy map: declared in policies/, or inferred from the catalog. */
export interface MatrixTenancy {
  source: 'declared' | 'inferred';
  /** The policies/ file of a declared map. */
  file: string | null;
  /** Inferred: the evidence for each guess, by table, and the RLS tables left out. */
  notes: Record<string, string>;
  unplaced: InferredTenancy['unplaced'];
}

const comment = (text: string, indent: string) => `${indent}// ${text.replace(/[\r\n\u2028\u2029]+/g, ' ').replace(/\*\//g, '*\\/')}`;
const literal = (value: unknown) => JSON.stringify(value);

export function tenancyModule(inferred: InferredTenancy, meta: { database: string; dbkit: string }): string {
  const { map, notes, unplaced } = inferred;
  const lines = [
    '/**',
    ` * Tenancy map inferred by dbkit ${meta.dbkit} (rls-audit --print-tenancy) from the database ${meta.database.replace(/\*\//g, '')}.`,
    ' * Each entry carries the evidence for its guess; review them, then keep this file in policies/',
    ' * (dbkit rls-audit then uses it instead of inferring one on every run).',
    ...(unplaced.length ? [' *', ' * Tables with RLS left out of the map:', ...unplaced.map((u) => ` *   ${u.table}: ${u.why}`.replace(/\*\//g, ''))] : []),
    ' */',
    "import type { TenancyMap } from 'dbkit/migrate';",
    '',
    'export const tenancy: TenancyMap = {',
    ...(notes[map.root.table] ? [comment(notes[map.root.table]!, '  ')] : []),
    `  root: ${literal(map.root)},`,
    '  tables: [',
  ];
  for (const t of map.tables) {
    if (notes[t.table]) lines.push(comment(notes[t.table]!, '    '));
    lines.push(`    ${literal(t)},`);
  }
  lines.push('  ],');
  if (map.views?.length) {
    lines.push('  views: [');
    for (const v of map.views) {
      if (notes[v.view]) lines.push(comment(notes[v.view]!, '    '));
      lines.push(`    ${literal(v)},`);
    }
    lines.push('  ],');
  }
  lines.push('};', '');
  return lines.join('\n');
}
