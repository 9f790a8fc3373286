/**
 * PostgreSQL's own parser (libpg_query compiled to WASM), loaded once per process.
 *
 * Loading is asynchronous and costs a couple of hundred milliseconds, so it happens on first need
 * (never for `dbkit --help`); parsing is synchronous after it. The loaded parser is kept in a
 * process-wide registry rather than in this module: migrations import dbkit's source through
 * node-pg-migrate's loader (jiti), which can instantiate this module, and libpg-query, a second
 * time, and the copy a migration sees must use the parser dbkit loaded.
 */

type ParseSync = (sql: string) => unknown;

interface Registry {
  parse?: ParseSync;
  loading?: Promise<void>;
}

const REGISTRY = Symbol.for('dbkit.sql-parser');

function registry(): Registry {
  const holder = globalThis as { [REGISTRY]?: Registry };
  holder[REGISTRY] ??= {};
  return holder[REGISTRY];
}

/** Loads the parser (once per process; later calls wait for the same load). */
export function loadSqlParser(): Promise<void> {
  const r = registry();
  r.loading ??= import('libpg-query').then(async (mod) => {
    await mod.loadModule();
    r.parse = mod.parseSync;
  });
  return r.loading;
}

export class SqlParserNotLoaded extends Error {
  constructor() {
    super(
      "the SQL parser is not loaded: createPolicySql checks each policy with PostgreSQL's parser before it builds SQL. " +
        "Run the migration with dbkit apply (it loads the parser), or make up/down async and `await loadSqlParser()` from 'dbkit/migrate' first",
    );
  }
}

/** The parse tree of `sql` ({ version, stmts: [{ stmt }] }); throws on a syntax error. */
export function parseSqlSync(sql: string): unknown {
  const parse = registry().parse;
  if (!parse) throw new SqlParserNotLoaded();
  return parse(sql);
}
