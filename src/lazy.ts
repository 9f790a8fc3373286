/**
 * The heavy dependencies, loaded on first use and in their cheapest form: `dbkit --help` and the
 * commands that never touch a database should not pay for importing pg and node-pg-migrate, and
 * `dbkit status` should not pay for node-pg-migrate's runner (see README, "Benchmarks",
 * bench:cli; figures below are CPU time on the development machine).
 */
import { createRequire } from 'node:module';
import type { Jiti } from 'jiti';
import type pg from 'pg';

let pgModule: Promise<typeof pg> | null = null;

/**
 * pg asks at load time whether it runs in a Cloudflare Worker: when there is no global
 * `navigator` (Node 20; Node 21+ has one) it constructs a fetch `Response`, which makes Node load
 * its whole fetch implementation (about 40 ms). For the duration of the import, Node 20 gets the
 * answer Node 21 would give.
 */
export function loadPg(): Promise<typeof pg> {
  pgModule ??= (async () => {
    const lend = !('navigator' in globalThis);
    if (lend) Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true, writable: true });
    try {
      return (await import('pg')).default;
    } finally {
      if (lend) Reflect.deleteProperty(globalThis, 'navigator');
    }
  })();
  return pgModule;
}

/** node-pg-migrate (its runner: apply, rollback). It imports pg itself: pg is loaded first, as above. */
export async function loadNodePgMigrate(): Promise<typeof import('node-pg-migrate')> {
  await loadPg();
  return import('node-pg-migrate');
}

let jitiInstance: Jiti | null = null;

/**
 * The one jiti instance that loads TypeScript migrations, expectations and policy modules (so
 * each is loaded once). Through jiti's CommonJS entry: imported as ESM, Node first scans jiti's
 * 190 KB bundle for export names (about 20 ms).
 */
export function loadJiti(): Jiti {
  jitiInstance ??= (createRequire(import.meta.url)('jiti') as typeof import('jiti')).createJiti(import.meta.url);
  return jitiInstance;
}

type MigrationBuilderClass = typeof import('node-pg-migrate').MigrationBuilder;

/** Where `npm run build` bundles node-pg-migrate's MigrationBuilder into one file (dist/vendor/). */
const VENDORED_BUILDER = new URL('../vendor/migration-builder.js', import.meta.url).href;

let builderClass: Promise<MigrationBuilderClass> | null = null;

/**
 * node-pg-migrate's MigrationBuilder, which renders a migration to SQL without running it. The
 * package's main entry also loads the runner, glob and jiti-as-ESM, and its per-operation build is
 * 125 modules: about 70 ms either way, against 5 ms for the one-file bundle the build makes. Run
 * from the TypeScript sources (tests, scripts), there is no bundle: the package's entry is used.
 */
export function loadMigrationBuilder(): Promise<MigrationBuilderClass> {
  // Once: every render asks for it, and each import() goes through module resolution again
  // (from the sources, a failed lookup of the bundle first).
  builderClass ??= (async () => {
    try {
      return ((await import(VENDORED_BUILDER)) as { MigrationBuilder: MigrationBuilderClass }).MigrationBuilder;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
      return (await loadNodePgMigrate()).MigrationBuilder;
    }
  })();
  builderClass.catch(() => (builderClass = null));
  return builderClass;
}
