// Entry for the build's vendored copy of node-pg-migrate's MigrationBuilder (dist/vendor/,
// bundled by esbuild in `npm run build`): dbkit renders migrations to SQL with it on every
// command that reads migrations, and the package's own entry points cost far more to load
// (see src/lazy.ts).
export { MigrationBuilder } from 'node-pg-migrate/migrationBuilder';
