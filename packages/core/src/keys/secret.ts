import { inspect } from 'node:util';

/**
 * Key material. Printing, logging or serialising a `Secret` shows only a hint of its last
 * characters (`…abcd`); the value comes out only through `reveal()`, which adapters call at the
 * moment they build the upstream request.
 *
 * @example
 * const key = Secret.from(process.env.OPENAI_API_KEY!);
 * console.log(`${key}`); // "…9xQz"
 */
export class Secret {
  /** `…` plus at most 4 trailing characters; fewer for short values, none for very short ones. */
  readonly hint: string;
  // A private field, not a property: JSON.stringify, structuredClone, v8.serialize, util.inspect
  // and object spreads see only `hint` (the tests check each of them). Cheaper per call than a
  // WeakMap entry, and a key is created on every call.
  readonly #value: string;

  private constructor(value: string) {
    this.#value = value;
    this.hint = hintOf(value);
    Object.freeze(this);
  }

  static from(value: string | Secret): Secret {
    if (value instanceof Secret) return value;
    if (typeof value !== 'string' || value.length === 0) {
      throw new TypeError('Secret.from expects a non-empty string');
    }
    return new Secret(value);
  }

  static isSecret(value: unknown): value is Secret {
    return value instanceof Secret;
  }

  /** The key itself. Call only where the key must go on the wire. */
  reveal(): string {
    return this.#value;
  }

  /** Constant-time-ish equality that never exposes either value. */
  equals(other: Secret): boolean {
    const a = this.reveal();
    const b = other.reveal();
    let diff = a.length ^ b.length;
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      diff |= (a.charCodeAt(i % (a.length || 1)) || 0) ^ (b.charCodeAt(i % (b.length || 1)) || 0);
    }
    return diff === 0;
  }

  toString(): string {
    return this.hint;
  }

  toJSON(): string {
    return this.hint;
  }

  [inspect.custom](): string {
    return `Secret(${this.hint})`;
  }

  [Symbol.toPrimitive](): string {
    return this.hint;
  }
}

/**
 * The hint never reveals more than 4 characters nor more than a quarter of the value, so that a
 * short test key is not shown almost whole.
 */
export function hintOf(value: string): string {
  const shown = Math.min(4, Math.floor(value.length / 4));
  return shown > 0 ? `…${value.slice(-shown)}` : '…';
}
