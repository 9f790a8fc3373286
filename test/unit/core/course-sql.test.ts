import { describe, expect, it } from 'vitest';
import { nodeRecord, upsertNodes, upsertProject } from '../../../src/core/course-sql.ts';
import { batchProblem } from '../../../src/core/course-sql.ts';
import { persistSettingsFromEnv } from '../../../src/persist/options.ts';

describe('persister statements', () => {
  it('sends a whole batch as one jsonb parameter with every key present', () => {
    const records = [nodeRecord({ slug: 'l1', title: 'T "1"', contentType: 'course_lesson', parent: 'module-1', content: 'a\\b', sequenceOrder: 1 })];
    const statement = upsertNodes('p', records);
    expect(statement.values).toEqual(['p', JSON.stringify([{ slug: 'l1', parent_slug: 'module-1', title: 'T "1"', content_type: 'course_lesson', content: 'a\\b', sequence_order: 1, metadata: {}, fidelity_score: null, status: null }])]);
    expect(statement.text).toContain('jsonb_to_recordset($2::jsonb)');
    expect(statement.text).toContain('ON CONFLICT (project_id, slug) DO UPDATE');
    expect(statement.text).toContain('metadata = c.metadata || EXCLUDED.metadata');
  });

  it('upserts a project on its slug, merging metadata and keeping minds not given', () => {
    const s = upsertProject({ slug: 'p', name: 'P', metadata: { a: 1 } });
    expect(s.values).toEqual(['p', 'P', null, null, '{"a":1}', null, null, null]);
    expect(s.text).toContain('ON CONFLICT (slug) DO UPDATE');
    expect(s.text).toContain('project_metadata = p.project_metadata || EXCLUDED.project_metadata');
  });

  it('refuses batches the database would reject cryptically', () => {
    const r = (slug: string, extra: Partial<ReturnType<typeof nodeRecord>> = {}) => ({ ...nodeRecord({ slug, title: slug, contentType: 'course_lesson' }), ...extra });
    expect(batchProblem([r('a'), r('b')])).toBeNull();
    expect(batchProblem([r('a'), r('a')])).toMatch(/appears twice/);
    expect(batchProblem([r('a', { parent_slug: 'a' })])).toMatch(/own parent/);
    expect(batchProblem([r('a', { sequence_order: 1.5 })])).toMatch(/whole number/);
  });
});

describe('persistSettingsFromEnv', () => {
  it('is off by default and reads CREATOR_OS_DB_URL before DATABASE_URL', () => {
    expect(persistSettingsFromEnv({})).toEqual({ enabled: false, url: null, urlSource: null, problems: [] });
    expect(persistSettingsFromEnv({ CREATOR_OS_DB_PERSIST: 'true', CREATOR_OS_DB_URL: 'postgres://a', DATABASE_URL: 'postgres://b' })).toMatchObject({ enabled: true, url: 'postgres://a', urlSource: 'CREATOR_OS_DB_URL' });
    expect(persistSettingsFromEnv({ CREATOR_OS_DB_PERSIST: '1', DATABASE_URL: 'postgres://b' })).toMatchObject({ enabled: true, url: 'postgres://b', urlSource: 'DATABASE_URL' });
  });

  it('keeps persistence off for an unreadable flag and says why', () => {
    const s = persistSettingsFromEnv({ CREATOR_OS_DB_PERSIST: 'maybe' });
    expect(s.enabled).toBe(false);
    expect(s.problems).toEqual(["CREATOR_OS_DB_PERSIST: 'maybe' is not a boolean (true/false, 1/0, yes/no, on/off); persistence stays disabled"]);
  });
});
