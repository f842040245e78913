import type { GeminiPartialArg } from './gemini-wire.js';

type Segment = string | number;

/**
 * Rebuilds the arguments of a function call that Vertex streams as `partialArgs`
 * (`streamFunctionCallArguments`): each piece names one value by an RFC 9535 JSON Path
 * (`$.location`, `$.items[0].name`) and carries a string, number, boolean or null. A string may
 * come in several pieces of the same path, each but the last marked `willContinue`.
 * https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/Content#PartialArg
 *
 * The pieces are not a prefix of the JSON text, so Keyhold assembles the object and emits the
 * arguments as JSON once the call closes. Objects have no prototype, so a path such as
 * `$.__proto__` is an ordinary key; an array index may only extend its array by one, so a
 * hostile index cannot allocate a huge sparse array.
 */
export class PartialArgsAssembler {
  private readonly root: Record<string, unknown> = Object.create(null);
  /** Paths whose last string piece said `willContinue`. */
  private readonly open = new Set<string>();

  /** Applies pieces in order. Throws a plain `Error` for a path it cannot read. */
  add(pieces: readonly GeminiPartialArg[]): void {
    for (const piece of pieces) this.apply(piece);
  }

  /** The arguments as JSON text. */
  toJson(): string {
    return JSON.stringify(this.root);
  }

  private apply(piece: GeminiPartialArg): void {
    const path = piece.jsonPath ?? '';
    const segments = parseJsonPath(path);
    if (!segments || segments.length === 0) throw new Error('unreadable function-call argument path');
    let value: unknown;
    if (typeof piece.stringValue === 'string') {
      const previous = this.open.has(path) ? get(this.root, segments) : undefined;
      value = (typeof previous === 'string' ? previous : '') + piece.stringValue;
      if (piece.willContinue) this.open.add(path);
      else this.open.delete(path);
    } else if (typeof piece.numberValue === 'number') value = piece.numberValue;
    else if (typeof piece.boolValue === 'boolean') value = piece.boolValue;
    else if (piece.nullValue !== undefined) value = null;
    else return;
    set(this.root, segments, value);
  }
}

/** `$`, `.name`, `['name']`, `["name"]` and `[0]` segments; undefined for anything else. */
export function parseJsonPath(path: string): Segment[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const segments: Segment[] = [];
  const pattern = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/y;
  pattern.lastIndex = 1;
  while (pattern.lastIndex < path.length) {
    const match = pattern.exec(path);
    if (!match) return undefined;
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push((match[3] ?? match[4] ?? '').replace(/\\(.)/g, '$1'));
  }
  return segments;
}

function get(root: Record<string, unknown>, segments: Segment[]): unknown {
  let node: unknown = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

function set(root: Record<string, unknown>, segments: Segment[], value: unknown): void {
  let node: Record<string | number, unknown> | unknown[] = root;
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    const next = segments[i + 1];
    if (Array.isArray(node)) {
      if (typeof segment !== 'number' || segment > node.length) {
        throw new Error('function-call argument path does not fit the arguments');
      }
    } else if (typeof segment === 'number') {
      throw new Error('function-call argument path does not fit the arguments');
    }
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[segment] = value;
      return;
    }
    let child = container[segment];
    if (child === null || typeof child !== 'object') {
      child = typeof next === 'number' ? [] : Object.create(null);
      container[segment] = child;
    }
    node = child as Record<string | number, unknown> | unknown[];
  }
}
