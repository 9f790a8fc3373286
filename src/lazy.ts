/**
 * The heavy dependencies, loaded on first use: `dbkit --help` and the commands that never touch
 * a database should not pay for importing pg and node-pg-migrate (about half a second together
 * on a busy machine).
 */
export const loadPg = async () => (await import('pg')).default;
export const loadNodePgMigrate = () => import('node-pg-migrate');
