import { describe, expect, it } from 'vitest';
import { RestoreScriptError, RestoreScriptParser, hasStatements, type ScriptEvent } from '../../src/core/restore-script.ts';

const SCRIPT = `--
-- PostgreSQL database dump
--

\\restrict abc123

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: auth; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA auth;

--
-- Name: f(); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $$
COPY public.t (a) FROM stdin;
$$;

--
-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.t (a, b) FROM stdin;
1\tx
2\t\\N
\\.


--
-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (a);

\\unrestrict abc123
`;

function parse(text: string): ScriptEvent[] {
  const parser = new RestoreScriptParser();
  return [...text.split('\n').flatMap((line) => parser.line(line)), ...parser.end()];
}

describe('RestoreScriptParser', () => {
  it('cuts the script into entries and COPY data, skipping pg_restore\'s \\restrict guard', () => {
    const events = parse(SCRIPT);
    expect(events.map((e) => (e.kind === 'copy-data' ? `data ${JSON.stringify(e.text)}` : e.kind === 'copy-end' ? 'end' : `${e.kind} ${e.entry}`))).toEqual([
      'sql the script preamble',
      'sql SCHEMA auth',
      'sql FUNCTION public.f()',
      'copy-start TABLE DATA public.t',
      'data "1\\tx\\n"',
      'data "2\\t\\\\N\\n"',
      'end',
      'sql CONSTRAINT public.t t_pkey',
    ]);
    const start = events.find((e) => e.kind === 'copy-start');
    expect(start).toMatchObject({ statement: 'COPY public.t (a, b) FROM stdin' });
    expect(events.filter((e) => e.kind === 'sql').map((e) => (e as { text: string }).text).join('\n')).not.toContain('restrict');
  });
  it('treats a COPY line inside a function body as SQL, not data', () => {
    const fn = parse(SCRIPT).find((e) => e.kind === 'sql' && e.entry === 'FUNCTION public.f()');
    expect(fn && 'text' in fn ? fn.text : '').toContain('COPY public.t (a) FROM stdin;');
  });
  it('reports a script that stops inside table data as truncated', () => {
    const cut = SCRIPT.slice(0, SCRIPT.indexOf('2\t'));
    expect(() => parse(cut)).toThrow(RestoreScriptError);
    expect(() => parse(cut)).toThrow(/ends inside the data of TABLE DATA public\.t/);
  });
  it('refuses other psql meta-commands', () => {
    expect(() => parse('\\! rm -rf /\n')).toThrow(/unexpected psql meta-command/);
    expect(() => parse('--\n-- Name: x; Type: TABLE; Schema: public; Owner: a\n--\n\\connect other\n')).toThrow(RestoreScriptError);
  });
});

describe('hasStatements', () => {
  it('ignores blank lines and comments', () => {
    expect(hasStatements('--\n-- x\n\n')).toBe(false);
    expect(hasStatements('-- x\nSELECT 1;')).toBe(true);
  });
});
