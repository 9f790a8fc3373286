import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../../scripts/readme.ts';

describe('README reference sections', () => {
  it('match the code (run `npm run readme` after changing commands, settings or exit codes)', async () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    // toEqual on the two texts: a failure shows the lines that differ.
    expect(await renderReadme(readme)).toEqual(readme);
  });
});
