/**
 * Turns Postgres's error position (1-based character offset into the statement) into
 * "line L, column C" with the offending line and a caret under the column.
 */
export function lineAndColumn(statement: string, position: number): { line: number; column: number; text: string } {
  const chars = [...statement];
  const before = chars.slice(0, Math.max(0, position - 1)).join('');
  const lines = before.split('\n');
  const line = lines.length;
  const column = [...(lines[lines.length - 1] ?? '')].length + 1;
  const text = statement.split('\n')[line - 1] ?? '';
  return { line, column, text };
}

export function locateInStatement(statement: string, position: number): string {
  const { line, column, text } = lineAndColumn(statement, position);
  return `  at line ${line}, column ${column} of the statement:\n    ${text}\n    ${' '.repeat(Math.max(0, column - 1))}^`;
}
