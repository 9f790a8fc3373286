/**
 * Baseline of the CreatorOS v0.7.0 tables, brownfield-safe.
 *
 * A table that already exists is adopted as it is, rows untouched; a contract column it lacks is
 * added. Only what this migration created is removed by its down, and a created table that has
 * since received rows is never dropped (see dropTableIfEmptySql).
 */
import type { MigrationBuilder } from 'node-pg-migrate';
import { change, columnAbsent, dropTableIfEmptySql, ensureLedger, qname, relationAbsent, undoChanges } from './support/provision.ts';

const MIGRATION = '20251028115000_creatoros-baseline';

interface TableContract {
  name: string;
  columns: [name: string, definition: string][];
  /** Table constraints, used when the table is created. */
  constraints: string[];
}

const timestamps: [string, string][] = [
  ['created_at', 'timestamptz NOT NULL DEFAULT now()'],
  ['updated_at', 'timestamptz NOT NULL DEFAULT now()'],
  ['deleted_at', 'timestamptz'],
];

export const TABLES: TableContract[] = [
  {
    name: 'public.minds',
    columns: [
      ['id', 'uuid NOT NULL DEFAULT gen_random_uuid()'],
      ['slug', 'text NOT NULL'],
      ['display_name', 'text NOT NULL'],
      ['user_id', 'uuid'],
      ['created_at', 'timestamptz NOT NULL DEFAULT now()'],
    ],
    constraints: ['PRIMARY KEY (id)', 'UNIQUE (slug)', 'UNIQUE (user_id)'],
  },
  {
    name: 'public.content_projects',
    columns: [
      ['id', 'uuid NOT NULL DEFAULT gen_random_uuid()'],
      ['slug', 'text NOT NULL'],
      ['name', 'text NOT NULL'],
      ['project_type', "text NOT NULL DEFAULT 'course'"],
      ['description', 'text'],
      ['project_metadata', "jsonb NOT NULL DEFAULT '{}'"],
      ['status', "text NOT NULL DEFAULT 'draft'"],
      ...timestamps,
    ],
    constraints: ['PRIMARY KEY (id)', 'UNIQUE (slug)', "CHECK (status IN ('draft', 'published', 'archived'))"],
  },
  {
    name: 'public.contents',
    columns: [
      ['id', 'uuid NOT NULL DEFAULT gen_random_uuid()'],
      ['project_id', 'uuid NOT NULL'],
      ['parent_content_id', 'uuid'],
      ['slug', 'text NOT NULL'],
      ['title', 'text NOT NULL'],
      ['content_type', 'text NOT NULL'],
      ['content', 'text'],
      ['sequence_order', 'integer'],
      ['metadata', "jsonb NOT NULL DEFAULT '{}'"],
      ['fidelity_score', 'numeric'],
      ['status', "text NOT NULL DEFAULT 'draft'"],
      ...timestamps,
    ],
    constraints: [
      'PRIMARY KEY (id)',
      'UNIQUE (project_id, slug)',
      'FOREIGN KEY (project_id) REFERENCES public.content_projects (id) ON DELETE CASCADE',
      'FOREIGN KEY (parent_content_id) REFERENCES public.contents (id)',
    ],
  },
  {
    name: 'public.audience_profiles',
    columns: [
      ['id', 'uuid NOT NULL DEFAULT gen_random_uuid()'],
      ['project_id', 'uuid NOT NULL'],
      ['name', 'text NOT NULL'],
      ['profile', "jsonb NOT NULL DEFAULT '{}'"],
      ['created_at', 'timestamptz NOT NULL DEFAULT now()'],
    ],
    constraints: ['PRIMARY KEY (id)', 'FOREIGN KEY (project_id) REFERENCES public.content_projects (id) ON DELETE CASCADE'],
  },
  {
    name: 'public.content_minds',
    columns: [
      ['content_id', 'uuid NOT NULL'],
      ['mind_id', 'uuid NOT NULL'],
      ['role', 'text NOT NULL'],
    ],
    constraints: [
      'PRIMARY KEY (content_id, mind_id, role)',
      'FOREIGN KEY (content_id) REFERENCES public.contents (id) ON DELETE CASCADE',
      'FOREIGN KEY (mind_id) REFERENCES public.minds (id) ON DELETE CASCADE',
      "CHECK (role IN ('creator', 'author', 'persona'))",
    ],
  },
  {
    name: 'public.content_tags',
    columns: [
      ['content_id', 'uuid NOT NULL'],
      ['tag', 'text NOT NULL'],
    ],
    constraints: ['PRIMARY KEY (content_id, tag)', 'FOREIGN KEY (content_id) REFERENCES public.contents (id) ON DELETE CASCADE'],
  },
];

/** Indexes for foreign keys the hierarchy and attribution queries walk. */
const INDEXES = [
  { name: 'public.idx_contents_parent', on: 'public.contents (parent_content_id)' },
  { name: 'public.idx_content_minds_mind', on: 'public.content_minds (mind_id)' },
];

export const up = (pgm: MigrationBuilder): void => {
  ensureLedger(pgm);
  for (const table of TABLES) {
    const body = [...table.columns.map(([col, def]) => `${col} ${def}`), ...table.constraints].join(',\n      ');
    change(pgm, MIGRATION, {
      kind: 'table',
      name: table.name,
      when: relationAbsent(table.name),
      apply: `CREATE TABLE ${qname(table.name)} (\n      ${body}\n    )`,
      undo: { sql: dropTableIfEmptySql(table.name) },
    });
    // An adopted table keeps its rows and gains only the contract columns it lacks.
    for (const [col, def] of table.columns) {
      change(pgm, MIGRATION, {
        kind: 'column',
        name: `${table.name}.${col}`,
        when: columnAbsent(table.name, col),
        apply: `ALTER TABLE ${qname(table.name)} ADD COLUMN ${col} ${def}`,
        undo: { sql: `ALTER TABLE ${qname(table.name)} DROP COLUMN ${col}` },
      });
    }
  }
  for (const index of INDEXES) {
    change(pgm, MIGRATION, {
      kind: 'index',
      name: index.name,
      when: relationAbsent(index.name),
      apply: `CREATE INDEX ${index.name.split('.')[1]} ON ${index.on}`,
      undo: { sql: `DROP INDEX ${qname(index.name)}` },
    });
  }
};

export const down = (pgm: MigrationBuilder): void => {
  undoChanges(pgm, MIGRATION);
};
