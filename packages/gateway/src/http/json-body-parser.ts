import secureJson from 'secure-json-parse';
import { type Outcome, problem } from './problem.js';

/** Deepest nesting of objects and arrays a request body may have. */
export const MAX_JSON_DEPTH = 64;

/**
 * What one pass over a JSON text found before it is parsed:
 * - `deep`: objects and arrays nested deeper than the limit;
 * - `suspect`: an object key that is, or may be once unescaped, `__proto__` or `constructor` (the
 *   keys of prototype poisoning): parse it with secure-json-parse, which decides;
 * - `plain`: neither; `JSON.parse` is safe on it.
 *
 * Malformed text may read `plain`: `JSON.parse` refuses it.
 */
export type JsonScan = 'deep' | 'suspect' | 'plain';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

/**
 * Scans JSON text for nesting depth and suspect keys (see `JsonScan`). Depth is checked before
 * parsing: V8 parses very deep JSON fine, but every later recursive walk (JSON.stringify of a tool
 * schema on the way upstream, for one) would overflow the stack. Iterative on purpose.
 *
 * Strings are skipped with `indexOf` rather than character by character, and the key check
 * replaces secure-json-parse's two regular expressions over the whole text: a chat request is
 * mostly the text of its messages, and those character loops cost ~10 µs per KB (bench/README.md,
 * "request bodies").
 */
export function scanJson(text: string, limit = MAX_JSON_DEPTH): JsonScan {
  let depth = 0;
  let suspect = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i + 1;
      let end = text.indexOf('"', start);
      while (end !== -1 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) return suspect ? 'suspect' : 'plain';
      i = end;
      // A key is a string followed by a colon. Raw, the names are 9 and 11 characters long; an
      // escaped spelling is longer (the letters and `_` have only `\uXXXX` escapes).
      const keyLength = end - start;
      if (!suspect && (keyLength === 9 || keyLength >= 11) && isKey(text, end + 1)) {
        suspect = isSuspectKey(text, start, end);
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return 'deep';
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return suspect ? 'suspect' : 'plain';
}

const POISON = { protoAction: 'error', constructorAction: 'error' } as const;

/** The 400 of a body that is not JSON (or not all of it arrived). */
export const notJson = () => problem(400, 'invalid_json', 'The request body is not valid JSON');

/**
 * A request body's JSON text parsed, or the 400 `invalid_json` problem that refuses it: not JSON,
 * nested deeper than `MAX_JSON_DEPTH`, or with a `__proto__` or `constructor.prototype` key. The
 * one parser of both servers (the `/v1` router and Fastify's routes). A refusal names no part of
 * the body.
 */
export function parseJsonText(body: string): Outcome<unknown> {
  // A byte order mark is allowed, as secure-json-parse (Fastify's parser) allows it.
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  if (text.length === 0) return { ok: false, problem: notJson() };
  const scan = scanJson(text);
  if (scan === 'deep') {
    return {
      ok: false,
      problem: problem(400, 'invalid_json', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`),
    };
  }
  try {
    // secure-json-parse only where a key may poison a prototype: its own check is two regular
    // expressions over the whole text, which the scan has done cheaper.
    return {
      ok: true,
      value: scan === 'plain' ? JSON.parse(text) : secureJson.parse(text, undefined, POISON),
    };
  } catch (error) {
    // secure-json-parse's own errors are SyntaxErrors too; its messages name the key it refused.
    return /forbidden prototype/.test((error as Error).message)
      ? {
          ok: false,
          problem: problem(
            400,
            'invalid_json',
            'The request body contains a forbidden key (__proto__ or constructor)',
          ),
        }
      : { ok: false, problem: notJson() };
  }
}

/** The quote at `at` is escaped when an odd number of backslashes precede it. */
function isEscaped(text: string, at: number): boolean {
  let backslashes = 0;
  for (let j = at - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
  return backslashes % 2 === 1;
}

/** The next character after `from` that is not JSON whitespace is a colon. */
function isKey(text: string, from: number): boolean {
  for (let j = from; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === COLON) return true;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return false;
}

/** The key between `start` and `end` (raw, without its quotes) is `__proto__` or `constructor`. */
function isSuspectKey(text: string, start: number, end: number): boolean {
  const raw = text.slice(start, end);
  if (raw === '__proto__' || raw === 'constructor') return true;
  if (raw.indexOf('\\') === -1) return false;
  try {
    const key = JSON.parse(`"${raw}"`) as string;
    return key === '__proto__' || key === 'constructor';
  } catch {
    return true;
  }
}
