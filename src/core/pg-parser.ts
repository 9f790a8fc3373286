/**
 * The real PostgreSQL parser (libpg_query compiled to WASM: no native build, runs on Node 20),
 * loaded once on first use. Importing it costs a couple of hundred milliseconds that
 * `dbkit --help` should not pay, so it is loaded by `initParser()`, not at start-up; `parseSql` is
 * synchronous after that.
 */
type ParseSync = typeof import('libpg-query').parseSync;

let loaded: Promise<void> | null = null;
let parser: ParseSync | null = null;

export async function initParser(): Promise<void> {
  loaded ??= import('libpg-query').then(async (mod) => {
    await mod.loadModule();
    parser = mod.parseSync;
  });
  return loaded;
}

/** Parses SQL with the parser loaded by initParser(); throws the parser's error on a syntax error. */
export function parseSql(sql: string): unknown {
  if (!parser) throw new Error('initParser() must be awaited before parsing');
  return parser(sql);
}
