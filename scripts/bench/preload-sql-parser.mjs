// Loaded with `node --import` before the plain node-pg-migrate CLI in bench:apply: the CreatorOS
// migrations build policies with createPolicySql, which checks them with PostgreSQL's parser, so
// any runner of this set must load it first (dbkit apply does the same, and pays the same).
const { loadSqlParser } = await import(new URL('../../dist/src/core/sql-parse.js', import.meta.url).href);
await loadSqlParser();
