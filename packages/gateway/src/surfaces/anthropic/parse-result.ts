/**
 * The outcome of parsing a client's request body: the parsed value, or a refusal naming the
 * offending field by its dotted path (`messages.2.content.0.type`), ready for a 400 body.
 * Parsing returns refusals as values and never throws on hostile input.
 */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string; param?: string };

/** A refusal of the field at `param`. */
export function refuse(param: string, message: string): { ok: false; message: string; param: string } {
  return { ok: false, message: `${param}: ${message}`, param };
}

/** A plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The object's own property `key`, or `undefined`. Reading only own properties means a
 * `__proto__` key (an own property after `JSON.parse`) or an inherited name such as
 * `constructor` never stands in for a real field.
 */
export function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/**
 * Whether a JSON value nests deeper than `limit` arrays/objects. Iterative, so a hostile
 * 100,000-level value cannot overflow the stack here; free-form values deeper than the limit
 * are refused because `JSON.stringify` (recursive) would overflow on them later.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value !== 'object' || item.value === null) continue;
    const depth = item.depth + 1;
    if (depth > limit) return true;
    const children = Array.isArray(item.value) ? item.value : Object.values(item.value);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth });
    }
  }
  return false;
}

/** How deep a free-form value (tool input, input schema) may nest. */
export const MAX_JSON_DEPTH = 64;
