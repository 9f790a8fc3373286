/**
 * Counts the rows of every COPY block in SQL text as pg_restore writes it, line by line. In COPY
 * text format each row is exactly one line (newlines inside values are escaped), and a block ends
 * with "\.". Used to prove that an archive can be read back in full and holds every row.
 */

/** Splits a possibly-quoted, schema-qualified name ("public"."My Table") into plain parts. */
export function parseQualifiedName(text: string): string | null {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let j = i + 1;
      let part = '';
      for (;;) {
        if (j >= text.length) return null;
        if (text[j] === '"') {
          if (text[j + 1] === '"') {
            part += '"';
            j += 2;
            continue;
          }
          break;
        }
        part += text[j];
        j += 1;
      }
      parts.push(part);
      i = j + 1;
    } else {
      const match = /^[^."]+/.exec(text.slice(i));
      if (!match) return null;
      parts.push(match[0]);
      i += match[0].length;
    }
    if (i < text.length) {
      if (text[i] !== '.') return null;
      i += 1;
    }
  }
  return parts.length === 2 ? parts.join('.') : null;
}

/**
 * The table of "public.t (a, b)", "public.t " (no columns: pg_dump leaves two spaces) or
 * 'public."Events (2024)" (id)': the shortest prefix ending at a space that is a whole name.
 */
function copyTarget(text: string): string | null {
  for (let end = text.indexOf(' '); end !== -1; end = text.indexOf(' ', end + 1)) {
    const name = parseQualifiedName(text.slice(0, end));
    if (name) return name;
  }
  return parseQualifiedName(text);
}

export class CopyRowCounter {
  readonly counts = new Map<string, number>();
  private current: string | null = null;
  /** A block that never reached its "\." terminator: the archive is cut short. */
  unterminated: string | null = null;

  line(text: string): void {
    if (this.current !== null) {
      if (text === '\\.') this.current = null;
      else this.counts.set(this.current, (this.counts.get(this.current) ?? 0) + 1);
      return;
    }
    if (!text.startsWith('COPY ')) return;
    const match = /^COPY (.+) FROM stdin;$/.exec(text);
    const name = match ? copyTarget(match[1]!) : null;
    if (name) {
      this.current = name;
      this.counts.set(name, this.counts.get(name) ?? 0);
    }
  }

  end(): void {
    if (this.current !== null) this.unterminated = this.current;
  }
}

export interface RowCountMismatch {
  table: string;
  expected: number;
  found: number | null;
}

/** Tables whose archived row count differs from what the database held. */
export function compareRowCounts(expected: Record<string, number>, found: ReadonlyMap<string, number>): RowCountMismatch[] {
  const mismatches: RowCountMismatch[] = [];
  for (const [table, count] of Object.entries(expected)) {
    const archived = found.get(table);
    // Partitioned parents and empty tables may have no data block at all.
    if (archived === undefined && count === 0) continue;
    if (archived !== count) mismatches.push({ table, expected: count, found: archived ?? null });
  }
  return mismatches;
}
