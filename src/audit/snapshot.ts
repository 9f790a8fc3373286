/**
 * Keeping the proof: a snapshot of the isolation matrix and the findings (versioned JSON, no
 * secrets: no URL, no reproduction, no seeded values), and the comparison of a run with one. A
 * snapshot file is untrusted input: parsed by a schema, never cast. Pure except reading and writing
 * the file.
 */
import { readFileSync, statSync } from 'node:fs';
import { DbkitError } from '../errors.js';
import { printable } from '../output/text.js';
import { writeOutput } from './files.js';
import { IDENTITIES, OPERATIONS, OUTCOMES, VERDICTS, type MatrixCell } from './matrix.js';
import { LEVEL_RANK, LEVELS, OBJECT_TYPES, type FailOn, type Finding } from './model.js';

export const SNAPSHOT_FORMAT = 'dbkit-rls-audit-snapshot';
export const SNAPSHOT_VERSION = 1;
/** A snapshot larger than this is refused before it is parsed. */
export const SNAPSHOT_MAX_BYTES = 64 * 1024 * 1024;

export interface SnapshotCell {
  table: string;
  kind: MatrixCell['kind'];
  target?: string;
  identity: MatrixCell['identity'];
  operation: MatrixCell['operation'];
  expected: MatrixCell['expected'];
  actual: MatrixCell['actual'];
  verdict: MatrixCell['verdict'];
  detail: string;
}

export interface SnapshotFinding {
  rule: string;
  level: Finding['level'];
  object: string;
  objectType: Finding['objectType'];
  message: string;
  fix: string;
}

export interface Snapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: typeof SNAPSHOT_VERSION;
  dbkit: string;
  server: string;
  database: string;
  matrixSource: string | null;
  matrixSkipped: string | null;
  cells: SnapshotCell[];
  findings: SnapshotFinding[];
}

const cellKey = (c: { table: string; identity: string; operation: string; target?: string }) => `${c.table}\u0000${c.identity}\u0000${c.operation}${c.target ? `\u0000${c.target}` : ''}`;
const findingKey = (f: { rule: string; object: string }) => `${f.rule}\u0000${f.object}`;

/** The snapshot of a run, in a stable order (so that a committed snapshot changes only when the results do). */
export function takeSnapshot(input: { dbkit: string; server: string; database: string; matrixSource: string | null; matrixSkipped: string | null; cells: readonly MatrixCell[]; findings: readonly Finding[] }): Snapshot {
  const cells = input.cells
    .map((c): SnapshotCell => ({ table: c.table, kind: c.kind, ...(c.target ? { target: c.target } : {}), identity: c.identity, operation: c.operation, expected: c.expected, actual: c.actual, verdict: c.verdict, detail: c.detail }))
    .sort((a, b) => (cellKey(a) < cellKey(b) ? -1 : cellKey(a) > cellKey(b) ? 1 : 0));
  const findings = input.findings
    .map((f): SnapshotFinding => ({ rule: f.rule, level: f.level, object: f.object, objectType: f.objectType, message: f.message, fix: f.fix }))
    .sort((a, b) => (findingKey(a) < findingKey(b) ? -1 : findingKey(a) > findingKey(b) ? 1 : 0));
  return { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, dbkit: input.dbkit, server: input.server, database: input.database, matrixSource: input.matrixSource, matrixSkipped: input.matrixSkipped, cells, findings };
}

export function writeSnapshot(file: string, snapshot: Snapshot): Promise<void> {
  return writeOutput(file, `${JSON.stringify(snapshot, null, 2)}\n`, 'the snapshot');
}

async function snapshotSchema() {
  const { z } = await import('zod');
  const text = z.string().max(100_000);
  return z.strictObject({
    format: z.literal(SNAPSHOT_FORMAT),
    version: z.literal(SNAPSHOT_VERSION),
    dbkit: text,
    server: text,
    database: text,
    matrixSource: text.nullable(),
    matrixSkipped: text.nullable(),
    cells: z.array(z.strictObject({
      table: text.min(1),
      kind: z.enum(['table', 'view', 'function']),
      target: text.optional(),
      identity: z.enum(IDENTITIES),
      operation: z.enum(OPERATIONS),
      expected: z.enum(['allow', 'deny']),
      actual: z.enum(OUTCOMES),
      verdict: z.enum(VERDICTS),
      detail: text,
    })),
    findings: z.array(z.strictObject({
      rule: text.min(1),
      level: z.enum(LEVELS),
      object: text,
      objectType: z.enum(OBJECT_TYPES),
      message: text,
      fix: text,
    })),
  });
}

const invalid = (file: string, why: string) =>
  new DbkitError('RLS_SNAPSHOT_INVALID', `${file} is not a usable rls-audit snapshot: ${why}`, { hint: 'write one with dbkit rls-audit --snapshot <file>; nothing was audited' });

/** Reads and checks a snapshot: every problem named (up to five), nothing cast. */
export async function readSnapshot(file: string, shown: string): Promise<Snapshot> {
  let raw: string;
  try {
    if (statSync(file).size > SNAPSHOT_MAX_BYTES) throw invalid(shown, `larger than ${SNAPSHOT_MAX_BYTES / 1024 / 1024} MB`);
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof DbkitError) throw error;
    throw invalid(shown, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot read it (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw invalid(shown, `not JSON (${(error as Error).message})`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  const version = (json as { version?: unknown } | null)?.version;
  if (format === SNAPSHOT_FORMAT && typeof version === 'number' && version !== SNAPSHOT_VERSION) throw invalid(shown, `snapshot version ${version}; this dbkit reads version ${SNAPSHOT_VERSION}`);
  const parsed = (await snapshotSchema()).safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'the document'}: ${i.message}`);
    throw invalid(shown, printable(`${issues.join('; ')}${parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : ''}`));
  }
  return parsed.data;
}

export interface CellChange {
  table: string;
  identity: string;
  operation: string;
  before: { actual: string; verdict: string } | null;
  after: { actual: string; verdict: string };
}

export interface SnapshotDiff {
  /** Cells that became leaks (allowed where the map says deny), and new cells that are leaks. */
  regressions: CellChange[];
  /** Cells newly blocked: an access the map expects that no longer works. */
  newlyBlocked: CellChange[];
  /** Cells whose leak, block or error is gone. */
  fixed: CellChange[];
  /** Every other change of outcome. */
  changed: CellChange[];
  /** Cells of the snapshot this run did not probe. */
  removed: { table: string; identity: string; operation: string }[];
  /** Findings the snapshot did not have, at or above --fail-on (fail) and below it (reported). */
  newFindings: Finding[];
  newFindingsBelow: Finding[];
  resolvedFindings: SnapshotFinding[];
}

/** What changed since the snapshot. Pure. */
export function diffSnapshot(before: Snapshot, cells: readonly MatrixCell[], findings: readonly Finding[], failOn: FailOn): SnapshotDiff {
  const old = new Map(before.cells.map((c) => [cellKey(c), c]));
  const diff: SnapshotDiff = { regressions: [], newlyBlocked: [], fixed: [], changed: [], removed: [], newFindings: [], newFindingsBelow: [], resolvedFindings: [] };
  const seen = new Set<string>();
  for (const c of cells) {
    const key = cellKey(c);
    seen.add(key);
    const prev = old.get(key) ?? null;
    const change: CellChange = { table: c.target ? `${c.table} (${c.target})` : c.table, identity: c.identity, operation: c.operation, before: prev && { actual: prev.actual, verdict: prev.verdict }, after: { actual: c.actual, verdict: c.verdict } };
    if (c.verdict === 'leak' && prev?.verdict !== 'leak') diff.regressions.push(change);
    else if (c.verdict === 'blocked' && prev?.verdict !== 'blocked') diff.newlyBlocked.push(change);
    else if (prev && prev.verdict !== 'ok' && c.verdict === 'ok') diff.fixed.push(change);
    else if (prev && prev.actual !== c.actual) diff.changed.push(change);
  }
  for (const c of before.cells) if (!seen.has(cellKey(c))) diff.removed.push({ table: c.table, identity: c.identity, operation: c.operation });
  const oldFindings = new Set(before.findings.map(findingKey));
  const nowFindings = new Set(findings.map(findingKey));
  for (const f of findings) {
    if (oldFindings.has(findingKey(f))) continue;
    if (failOn !== 'never' && LEVEL_RANK[f.level] >= LEVEL_RANK[failOn]) diff.newFindings.push(f);
    else diff.newFindingsBelow.push(f);
  }
  diff.resolvedFindings = before.findings.filter((f) => !nowFindings.has(findingKey(f)));
  return diff;
}
