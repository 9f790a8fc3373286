/**
 * Reads the SQL script `pg_restore --file=-` writes, line by line, and cuts it into what a
 * client must send: each archive entry's statements (one simple query), and each table's COPY
 * data (a COPY FROM STDIN stream). So a restore can run in ONE transaction on dbkit's own
 * connection, and be checked before it commits.
 *
 * pg_restore heads every entry with a comment "-- Name: x; Type: T; Schema: s; Owner: o" (or
 * "-- Data for Name: ..."); only a TABLE DATA entry's "COPY ... FROM stdin;" starts data, which
 * ends with a line "\.". In COPY text format each row is one line.
 */

export type ScriptEvent =
  | { kind: 'sql'; text: string; entry: string }
  | { kind: 'copy-start'; statement: string; entry: string }
  | { kind: 'copy-data'; text: string }
  | { kind: 'copy-end'; entry: string };

const ENTRY_HEADER = /^-- (?:Data for )?Name: (.+?); Type: ([A-Z][A-Z ]*?); Schema: ([^;]*);/;
const COPY_START = /^COPY (.+) FROM stdin;$/;
// psql meta-commands pg_restore writes around the script (a guard against injected meta-commands).
const HARMLESS_META = /^\\(restrict|unrestrict)(\s|$)/;

export class RestoreScriptError extends Error {}

export class RestoreScriptParser {
  private sql: string[] = [];
  private entry = 'the script preamble';
  private entryType = '';
  private copying = false;

  /** Feeds one line (without its newline); returns what to send. */
  line(text: string): ScriptEvent[] {
    if (this.copying) {
      if (text === '\\.') {
        this.copying = false;
        return [{ kind: 'copy-end', entry: this.entry }];
      }
      return [{ kind: 'copy-data', text: `${text}\n` }];
    }
    const header = ENTRY_HEADER.exec(text);
    if (header) {
      const events = this.flush();
      this.entryType = header[2]!;
      const schema = header[3] === '-' ? '' : `${header[3]}.`;
      this.entry = `${this.entryType} ${schema}${header[1]}`;
      return events;
    }
    if (this.entryType === 'TABLE DATA' && COPY_START.test(text)) {
      const events = this.flush();
      this.copying = true;
      events.push({ kind: 'copy-start', statement: text.slice(0, -1), entry: this.entry });
      return events;
    }
    if (text.startsWith('\\')) {
      if (HARMLESS_META.test(text)) return [];
      throw new RestoreScriptError(`unexpected psql meta-command in the archive's script (${text.split(/\s/)[0]}) in ${this.entry}`);
    }
    this.sql.push(text);
    return [];
  }

  /** Call after the last line: the rest of the SQL, or an error when the script stops inside data. */
  end(): ScriptEvent[] {
    if (this.copying) throw new RestoreScriptError(`the archive's script ends inside the data of ${this.entry} (truncated)`);
    return this.flush();
  }

  private flush(): ScriptEvent[] {
    const text = this.sql.join('\n');
    this.sql = [];
    return hasStatements(text) ? [{ kind: 'sql', text, entry: this.entry }] : [];
  }
}

/** Whether SQL text holds anything but blank lines and -- comments. */
export function hasStatements(text: string): boolean {
  return text.split('\n').some((line) => {
    const t = line.trim();
    return t !== '' && !t.startsWith('--');
  });
}
