import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * On Node 20 (V8 11.3) an object literal that starts with a spread and goes on — `{ ...call,
 * admission }`, `{ ...(model ? { model } : {}), stream }`, `{ ...a, ...b }` — is built on a slow
 * path and gets a hidden class of its own every time: ~1–10 µs each, and every later property
 * read of such objects is megamorphic. Taking them off the request path cut ~55 µs of CPU per
 * request (bench/README.md, "hidden classes"). This guards the files every chat request runs
 * through. Build such objects by assignment, an explicit literal, or `{ key: undefined, ...x }`
 * followed by `o.key = value`; a spread that comes after a plain property is fine.
 *
 * A site that runs once (module setup, a cached value) is marked with `// once:` and a reason on
 * the line before it.
 */
const HOT_FILES = [
  'core/src/engine.ts',
  'core/src/keys/credential.ts',
  'core/src/providers/http-call.ts',
  'core/src/providers/openai/openai-adapter.ts',
  'core/src/providers/openai/openai-stream.ts',
  'core/src/providers/openai/text-chunk-layout.ts',
  'core/src/providers/openai/to-openai-request.ts',
  'core/src/providers/openai/from-openai-response.ts',
  'core/src/providers/anthropic/anthropic-adapter.ts',
  'core/src/providers/anthropic/to-anthropic-request.ts',
  'core/src/transport/dispatched-response.ts',
  'core/src/transport/event-batches.ts',
  'core/src/transport/sse.ts',
  'gateway/src/auth/authenticate.ts',
  'gateway/src/http/access-log.ts',
  'gateway/src/http/anthropic-routes.ts',
  'gateway/src/http/api-router.ts',
  'gateway/src/http/exchange.ts',
  'gateway/src/http/gateway-request.ts',
  'gateway/src/http/json-body-parser.ts',
  'gateway/src/http/openai-routes.ts',
  'gateway/src/http/problem.ts',
  'gateway/src/http/read-json-body.ts',
  'gateway/src/http/stream-response.ts',
  'gateway/src/http/surface.ts',
  'gateway/src/limits/rate-decision.ts',
  'gateway/src/limits/memory-rate-limiter.ts',
  'gateway/src/metering/ledger/to-usage-row.ts',
  'gateway/src/routing/apply-tenant-policy.ts',
  'gateway/src/routing/provider-caller.ts',
  'gateway/src/routing/resolve-provider-key.ts',
  'gateway/src/surfaces/openai/parse-chat-request.ts',
  'gateway/src/surfaces/openai/parse-embeddings-request.ts',
  'gateway/src/surfaces/openai/to-chat-completion.ts',
  'gateway/src/surfaces/openai/chat-chunk-encoder.ts',
  'gateway/src/surfaces/anthropic/parse-messages-request.ts',
  'gateway/src/vault/vault.ts',
];

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));

/** Spread-first literals of `source` that no `// once:` line above excuses: `line: text`. */
function spreadFirstLiterals(source: string): string[] {
  const lines = source.split('\n');
  // Comments blanked (kept as spaces, so offsets and line numbers stay), strings left alone: the
  // pattern cannot start inside a string literal of this code base's style.
  const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, ' '));
  const found: string[] = [];
  for (const m of code.matchAll(/\{\s*\.\.\./g)) {
    // The spread's expression runs to the first `,` or `}` at its own bracket depth; a `,`
    // followed by anything but the closing brace means the literal goes on.
    let depth = 0;
    let i = m.index + m[0].length;
    for (; i < code.length; i++) {
      const c = code[i];
      if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || (c === '}' && depth > 0)) depth--;
      else if (depth === 0 && (c === ',' || c === '}')) break;
    }
    if (code[i] !== ',' || /^,\s*\}/.test(code.slice(i))) continue;
    const line = code.slice(0, m.index).split('\n').length;
    if (/\/\/ once:/.test(lines[line - 2] ?? '')) continue;
    found.push(`${line}: ${lines[line - 1]!.trim()}`);
  }
  return found;
}

describe('request-path object literals', () => {
  it('finds the pattern it guards against, and only that', () => {
    expect(spreadFirstLiterals('const a = { ...call, admission };')).toHaveLength(1);
    expect(spreadFirstLiterals('return {\n  ...(m ? { m } : {}),\n  stream,\n};')).toHaveLength(1);
    expect(spreadFirstLiterals('const a = { ...x, ...y };')).toHaveLength(1);
    expect(spreadFirstLiterals('const a = { admission, ...call };')).toEqual([]);
    expect(spreadFirstLiterals('const a = { ...call };')).toEqual([]);
    expect(spreadFirstLiterals('const a = { ...call, };')).toEqual([]);
    expect(spreadFirstLiterals('f({ ...g(a, b), c });')).toHaveLength(1);
    expect(spreadFirstLiterals('// not `{ ...call, admission }`\nconst a = 1;')).toEqual([]);
    expect(spreadFirstLiterals('// once: module setup\nconst A = { ...B, c: 1 };')).toEqual([]);
  });

  it.each(HOT_FILES)('%s has no literal that starts with a spread and goes on', (file) => {
    expect(spreadFirstLiterals(readFileSync(`${PACKAGES}${file}`, 'utf8'))).toEqual([]);
  });
});
