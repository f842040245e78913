/** Printable ASCII without `"` and `\`: text that JSON writes as it is, between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * `JSON.stringify(text)` for a string, without the escaping scan when the text is plain ASCII
 * (ids, model names, ISO times): the hot path's hand-built JSON lines (the usage row, the access
 * line) quote their strings with this. Anything else — quotes, backslashes, control characters,
 * non-ASCII — goes to `JSON.stringify`, so the output is always exactly what it would write.
 *
 * @example
 * jsonString('gpt-4o') // '"gpt-4o"'
 * jsonString('a"b')    // '"a\\"b"'
 */
export function jsonString(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}
