/**
 * COURSE-BRIEF.md: the course title, its description and the ICP (ideal customer profile)
 * section, which becomes the project's audience profile.
 */
import type { AudienceProfile } from './model.js';
import type { JsonObject } from '../core/course-sql.js';

export interface Brief {
  title: string | null;
  description: string | null;
  icp: AudienceProfile | null;
}

interface Heading {
  level: number;
  text: string;
  line: number;
}

const ICP_HEADING = /\bICP\b|ideal customer|público[- ]alvo|target audience/i;
const FIELD = /^[-*]\s+(?:\*\*(.+?):?\*\*:?|([^:*][^:]*?):)\s*(.*)$/;

/**
 * An ATX heading line ("## Title ##"): its level and text, trailing hashes and blanks removed.
 * Written without a regular expression on purpose: the pattern that says the same,
 * /^(#{1,6})\s+(.*?)\s*#*\s*$/, backtracks cubically on a long line of blanks (a 16 KB heading
 * took minutes), and course files are untrusted.
 */
export function atxHeading(line: string): { level: number; text: string } | null {
  let level = 0;
  while (level < line.length && line[level] === '#') level += 1;
  if (level < 1 || level > 6 || !/\s/.test(line[level] ?? '')) return null;
  let text = line.slice(level).trim();
  let end = text.length;
  while (end > 0 && text[end - 1] === '#') end -= 1;
  text = text.slice(0, end).trimEnd();
  return { level, text };
}

function headingsOf(lines: readonly string[]): Heading[] {
  const out: Heading[] = [];
  let fenced = false;
  lines.forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : atxHeading(line);
    if (heading) out.push({ ...heading, line: i });
  });
  return out;
}

export function snakeKey(text: string): string {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'section';
}

/** Bullets as items; `- **Key:** value` bullets as fields; other lines as text. */
function readBlock(lines: readonly string[]): { fields: JsonObject; items: string[]; text: string } {
  const fields: JsonObject = {};
  const items: string[] = [];
  const text: string[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!line) continue;
    const field = FIELD.exec(line);
    if (field && (field[1] ?? field[2])) {
      fields[snakeKey((field[1] ?? field[2])!)] = field[3]!.trim();
    } else if (/^([-*+]|\d+\.)\s+/.test(line)) {
      items.push(line.replace(/^([-*+]|\d+\.)\s+/, ''));
    } else {
      text.push(line);
    }
  }
  return { fields, items, text: text.join('\n') };
}

function sectionLines(lines: readonly string[], headings: readonly Heading[], index: number): string[] {
  const start = headings[index]!;
  const end = headings.slice(index + 1).find((h) => h.level <= start.level);
  return lines.slice(start.line + 1, end ? end.line : lines.length);
}

function icpProfile(lines: readonly string[], headings: readonly Heading[], index: number): AudienceProfile {
  const heading = headings[index]!;
  const body = sectionLines(lines, headings, index);
  const firstSub = headingsOf(body)[0];
  const own = readBlock(firstSub ? body.slice(0, firstSub.line) : body);
  const profile: JsonObject = { source: 'COURSE-BRIEF.md', heading: heading.text };
  if (own.text) profile.summary = own.text;
  if (Object.keys(own.fields).length > 0) profile.fields = own.fields;
  if (own.items.length > 0) profile.points = own.items;
  const subs = headingsOf(body);
  const sections: JsonObject = {};
  subs.forEach((sub, i) => {
    if (sub.level !== heading.level + 1) return;
    // A subsection keeps its lines as written: bullets without their marker, paragraphs as lines.
    sections[snakeKey(sub.text)] = sectionLines(body, subs, i)
      .map((l) => l.trim())
      .filter((l) => l && !/^#{1,6}\s/.test(l))
      .map((l) => l.replace(/^([-*+]|\d+\.)\s+/, ''));
  });
  if (Object.keys(sections).length > 0) profile.sections = sections;
  const name = heading.text.replace(/^\d+(\.\d+)*\.?\s*/, '').trim() || 'ICP';
  return { name, profile };
}

export function parseBrief(text: string): Brief {
  const lines = text.split(/\r?\n/);
  const headings = headingsOf(lines);
  const h1 = headings.find((h) => h.level === 1);
  const title = h1 ? h1.text.replace(/^COURSE[- ]?BRIEF\s*[:\-–—]?\s*/i, '').trim() || null : null;
  let description: string | null = null;
  for (const line of lines) {
    const field = FIELD.exec(line.trim());
    const key = field ? snakeKey((field[1] ?? field[2]) ?? '') : '';
    if (field && (key === 'description' || key === 'descricao')) {
      description = field[3]!.trim() || null;
      break;
    }
  }
  const icpIndex = headings.findIndex((h) => h.level >= 2 && ICP_HEADING.test(h.text));
  return { title, description, icp: icpIndex >= 0 ? icpProfile(lines, headings, icpIndex) : null };
}
