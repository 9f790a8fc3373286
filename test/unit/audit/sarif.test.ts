/** A leak in SARIF carries its evidence: identities, operation, table, fix, and the reproduction. */
import { describe, expect, it } from 'vitest';
import { toSarif } from '../../../src/audit/sarif.ts';
import type { MatrixCell } from '../../../src/audit/matrix.ts';

const leak: MatrixCell = {
  relation: 'public.contents', table: 'public.contents', kind: 'table', identity: 'tenant-a', operation: 'insert-other', expected: 'deny', actual: 'allow',
  detail: 'row inserted into tenant B', verdict: 'leak', identities: ['tenant-a', 'tenant-b'],
  reproduction: "BEGIN;\nINSERT INTO public.contents (title) VALUES ('```');\nROLLBACK;", fix: 'WITH CHECK (project_id IN (SELECT id FROM public.content_projects))',
};

interface Result { ruleId: string; message: { text: string; markdown: string }; properties: Record<string, unknown>; partialFingerprints: { dbkitObject: string } }

describe('SARIF leak results', () => {
  const results = (leaks: MatrixCell[]) => (toSarif({ version: '0.1.0', rules: [], findings: [], leaks, locate: () => null }) as { runs: { results: Result[] }[] }).runs[0]!.results;

  it('name the identities, operation, table and fix, and carry the reproduction', () => {
    const [r] = results([leak]);
    expect(r!.ruleId).toBe('isolation-leak');
    expect(r!.message.text).toBe('tenant-a -> tenant-b: insert-other on public.contents: expected deny, got allow (row inserted into tenant B). Fix: WITH CHECK (project_id IN (SELECT id FROM public.content_projects))');
    expect(r!.properties).toMatchObject({ identities: ['tenant-a', 'tenant-b'], operation: 'insert-other', table: 'public.contents', reproduction: leak.reproduction, fix: leak.fix });
    // the SQL holds a ``` run: the fence is longer, so the code block cannot be closed from inside
    expect(r!.message.markdown).toContain("````sql\nBEGIN;\nINSERT INTO public.contents (title) VALUES ('```');\nROLLBACK;\n````");
  });

  it('two leaks on one table stay two results', () => {
    const fingerprints = results([leak, { ...leak, operation: 'move-own' }]).map((r) => r.partialFingerprints.dbkitObject);
    expect(new Set(fingerprints).size).toBe(2);
  });
});
