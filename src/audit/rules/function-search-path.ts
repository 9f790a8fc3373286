/** A function without a pinned search_path resolves names through the caller's search_path. */
import type { AuditRule } from '../model.js';
import { finding, isManaged, sqlFunction } from './helpers.js';

export const functionSearchPath: AuditRule = {
  id: 'function-search-path-mutable',
  level: 'warn',
  splinter: 'function_search_path_mutable',
  title: 'Function without a pinned search_path',
  description: "The function does not set search_path, so the names in its body resolve through the caller's search_path: a caller who can create objects earlier in the path can substitute their own.",
  fixture: { hole: ['public.h12_mutable_path()'], safe: ['public.s12_pinned()'] },
  check(catalog, settings) {
    return catalog.functions
      .filter((f) => !f.pinnedSearchPath && !isManaged(f.schema, settings) && f.language !== 'c' && f.language !== 'internal')
      .map((f) => {
        const signature = `${f.schema}.${f.name}(${f.args})`;
        return finding(this, {
          object: signature,
          objectType: 'function',
          message: `function ${signature} has no pinned search_path${f.securityDefiner ? ' and is SECURITY DEFINER' : ''}`,
          fix: `ALTER FUNCTION ${sqlFunction(f)} SET search_path = '' (and schema-qualify the names it uses)`,
        });
      });
  },
};
