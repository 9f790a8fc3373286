/**
 * Stand-ins for extensions that the Supabase platform has and a plain PostgreSQL server lacks
 * (pg_cron, pg_jsonschema, pgsql-http). A project's migrations run `CREATE EXTENSION` for them, which
 * needs a control file in the server's extension directory; these stubs give each one the schema
 * and the functions the migrations call at their top level (cron.schedule), never the behaviour
 * (nothing is scheduled, no request is sent, every JSON value matches its schema).
 *
 * They are written only where the server has no extension of that name, only for the run, and
 * removed afterwards (the files this run created, nothing else). Evaluation only: dbkit never
 * installs or needs them.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withClient } from '../../src/db/scoped.ts';

interface Stub {
  control: string;
  sql: string;
}

const STUBS: Record<string, Stub> = {
  pg_cron: {
    control: "comment = 'evaluation stub of pg_cron (schedules nothing)'\ndefault_version = '0.0'\nrelocatable = false\nschema = pg_catalog\n",
    sql: `CREATE SCHEMA cron;
CREATE TABLE cron.job (jobid bigserial PRIMARY KEY, schedule text NOT NULL, command text NOT NULL, database text NOT NULL DEFAULT current_database(), username text NOT NULL DEFAULT current_user, active boolean NOT NULL DEFAULT true, jobname text);
CREATE FUNCTION cron.schedule(job_name text, schedule text, command text) RETURNS bigint LANGUAGE sql AS $$ INSERT INTO cron.job (jobname, schedule, command) VALUES ($1, $2, $3) RETURNING jobid $$;
CREATE FUNCTION cron.schedule(schedule text, command text) RETURNS bigint LANGUAGE sql AS $$ INSERT INTO cron.job (schedule, command) VALUES ($1, $2) RETURNING jobid $$;
CREATE FUNCTION cron.unschedule(job_name text) RETURNS boolean LANGUAGE sql AS $$ WITH gone AS (DELETE FROM cron.job WHERE jobname = $1 RETURNING 1) SELECT count(*) > 0 FROM gone $$;
CREATE FUNCTION cron.unschedule(job_id bigint) RETURNS boolean LANGUAGE sql AS $$ WITH gone AS (DELETE FROM cron.job WHERE jobid = $1 RETURNING 1) SELECT count(*) > 0 FROM gone $$;
`,
  },
  pg_jsonschema: {
    control: "comment = 'evaluation stub of pg_jsonschema (every value matches)'\ndefault_version = '0.0'\nrelocatable = true\n",
    sql: `CREATE FUNCTION json_matches_schema(schema json, instance json) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT true $$;
CREATE FUNCTION jsonb_matches_schema(schema json, instance jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT true $$;
`,
  },
  http: {
    control: "comment = 'evaluation stub of pgsql-http (sends nothing)'\ndefault_version = '0.0'\nrelocatable = true\n",
    sql: `CREATE FUNCTION http_get(uri varchar) RETURNS text LANGUAGE sql AS $$ SELECT NULL::text $$;
CREATE FUNCTION http_post(uri varchar, content varchar, content_type varchar) RETURNS text LANGUAGE sql AS $$ SELECT NULL::text $$;
`,
  },
};

/** Writes the stubs the server at adminUrl lacks into its extension directory; returns the files written. */
export async function installStubExtensions(adminUrl: string): Promise<string[]> {
  return withClient(adminUrl, {}, async (client) => {
    const { rows } = await client.query<{ setting: string }>("SELECT setting FROM pg_config WHERE name = 'SHAREDIR'");
    const dir = path.join(rows[0]!.setting, 'extension');
    const written: string[] = [];
    for (const [name, stub] of Object.entries(STUBS)) {
      const available = await client.query('SELECT 1 FROM pg_available_extensions WHERE name = $1', [name]);
      const control = path.join(dir, `${name}.control`);
      const script = path.join(dir, `${name}--0.0.sql`);
      if (available.rows.length > 0 || existsSync(control) || existsSync(script)) continue;
      writeFileSync(control, stub.control, { flag: 'wx' });
      written.push(control);
      writeFileSync(script, stub.sql, { flag: 'wx' });
      written.push(script);
    }
    return written;
  });
}

export function removeStubExtensions(files: string[]): void {
  for (const file of files) rmSync(file, { force: true });
}
