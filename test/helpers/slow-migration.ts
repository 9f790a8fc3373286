/**
 * A migration whose down changes something, then sleeps for as many seconds as
 * public.slow_marker says, then finishes: something to interrupt, or to run into, mid-way.
 */
export const SLOW_MIGRATION = '20251028115500_slow-down';

export const SLOW_MIGRATION_SOURCE = `import type { MigrationBuilder } from 'node-pg-migrate';

export const up = (pgm: MigrationBuilder): void => {
  pgm.sql('CREATE TABLE public.slow_marker (seconds integer NOT NULL)');
  pgm.sql('INSERT INTO public.slow_marker VALUES (0)');
};

export const down = (pgm: MigrationBuilder): void => {
  pgm.sql('ALTER TABLE public.slow_marker ADD COLUMN half_done boolean');
  pgm.sql('SELECT pg_sleep(seconds) FROM public.slow_marker');
  pgm.sql('DROP TABLE public.slow_marker');
};
`;
