/**
 * What taking a verified backup needs from the role: pg_dump reads every schema, table and
 * sequence, and refuses a table whose rows row-level security would filter; a template copy
 * clones the database, which takes CREATEDB and ownership of it. Either way the row counts that
 * verify the backup read every table and must see every row.
 */
import type { PrivilegeNeed } from '../core/privileges.js';
import type { BackupPlan } from './take.js';

export function backupNeeds(plan: BackupPlan): PrivilegeNeed[] {
  switch (plan.strategy) {
    case 'pg_dump':
      return [{ on: 'dump' }, { on: 'rls-bypass', tables: 'all', why: 'pg_dump would refuse to dump them' }];
    case 'template':
      return [{ on: 'attribute', attribute: 'CREATEDB' }, { on: 'database-owner', why: 'a template-copy backup clones it; --backup-strategy pg_dump does not need it' }, { on: 'dump' }, { on: 'rls-bypass', tables: 'all', why: 'the row counts that verify the copy would miss rows' }];
    default: {
      const unhandled: never = plan;
      throw new Error(`unhandled backup plan ${JSON.stringify(unhandled)}`);
    }
  }
}
