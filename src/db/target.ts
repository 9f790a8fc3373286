/**
 * The database a command works on, as the layers below see it: its URL (kept out of output), how
 * to name it. Choosing it (the URL given, or the embedded cluster) is embedded/target.ts.
 */

export const TARGET_KINDS = ['external', 'embedded'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface DatabaseTarget {
  kind: TargetKind;
  url: string;
  redactedUrl: string;
  databaseName: string;
  connectTimeoutMs: number;
}


/** How every report names the database it worked on (URL redacted). */
export interface DatabaseFacts {
  url: string;
  kind: TargetKind;
  name: string;
}

export function databaseFacts(target: DatabaseTarget): DatabaseFacts {
  return { url: target.redactedUrl, kind: target.kind, name: target.databaseName };
}

/** 'database "shop" at db.example.com:5432': names the database without echoing any secret. */
export function describeTarget(target: DatabaseTarget): string {
  const url = new URL(target.redactedUrl);
  return `database "${target.databaseName}" at ${url.hostname || 'localhost'}${url.port ? `:${url.port}` : ''}${target.kind === 'embedded' ? ' (embedded)' : ''}`;
}
