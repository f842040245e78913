/** A CSV cell: text, a number, or empty (null). */
export type CsvCell = string | number | null | undefined;

// A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); tab and
// carriage return are on OWASP's list too, as some programs strip them before parsing.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Renders rows as RFC 4180 CSV: CRLF line ends, a field quoted when it holds a comma, a quote or a
 * line break, quotes doubled. Text that a spreadsheet would take for a formula gets a leading `'`
 * (numbers are written as numbers, so a negative number is never touched).
 *
 * @example
 * toCsv([['model', 'requests'], ['gpt-4o', 12]]); // 'model,requests\r\ngpt-4o,12\r\n'
 */
export function toCsv(rows: readonly (readonly CsvCell[])[]): string {
  let out = '';
  for (const row of rows) out += `${row.map(toField).join(',')}\r\n`;
  return out;
}

function toField(cell: CsvCell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
  const text = FORMULA_START.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
