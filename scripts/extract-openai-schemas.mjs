#!/usr/bin/env node
/**
 * Extracts the OpenAI response schemas the gateway's tests check against, from OpenAI's published
 * OpenAPI description, into `packages/gateway/test/support/openai-schemas.json` (committed, so a
 * clone can run the tests without the spec).
 *
 *   node scripts/extract-openai-schemas.mjs [path/to/openapi.yaml] [--commit <sha>]
 *
 * The spec path defaults to ../shared/specs/openai-openapi.yml beside the repository. The source
 * commit is recorded in the output: for the known published file (matched by sha256) it is filled
 * in; for any other file pass `--commit` with the openai/openai-openapi commit it came from.
 *
 * It takes the ROOTS below plus every schema they reference, transitively, and rewrites the
 * OpenAPI 3.0 habits the document still has into plain JSON Schema 2020-12 for ajv (see
 * NORMALISATIONS, which are also written into the output).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOTS = [
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'CreateEmbeddingResponse',
  'ListModelsResponse',
  'ErrorResponse',
];

/** Published spec files this script knows, by sha256 (see ../shared/specs/README.md). */
const KNOWN_SOURCES = {
  db5d7478feae10b4d331834c60d9765a8aa042e38419f9b1694288c11aa8ebc8: {
    commit: 'f85dbe223d40e1a31cba812ab2d755c7e98a92a3',
    date: '2026-08-21',
  },
};

const NORMALISATIONS = [
  '$ref "#/components/schemas/X" → "#/$defs/X"; `$recursiveRef: "#"` → a $ref to the enclosing component',
  '`nullable: true` → `type: [T, "null"]` (and null added to an `enum`), or `anyOf: [X, {type: "null"}]` when there is no `type`',
  'boolean `exclusiveMinimum`/`exclusiveMaximum` (OpenAPI 3.0) → the numeric 2020-12 form',
  '`oneOf` carrying a `discriminator` → `anyOf` (the branches overlap); `discriminator` removed',
  'a schema with `properties`/`required` but no `type` and no composition (`Model`) gets `type: "object"`',
  '`x-*` vendor keys and OpenAPI `example` removed; duplicate `required` entries removed',
  'formats `unixtime`, `int64`, `float`, `double`, `binary` kept: the validator registers them',
];

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outFile = resolve(repoRoot, 'packages/gateway/test/support/openai-schemas.json');

function main() {
  const args = process.argv.slice(2);
  let specPath = resolve(repoRoot, '../shared/specs/openai-openapi.yml');
  let commit;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--commit') commit = args[++i];
    else specPath = resolve(args[i]);
  }

  const text = readFileSync(specPath, 'utf8');
  const sha256 = createHash('sha256').update(text).digest('hex');
  const known = KNOWN_SOURCES[sha256];
  commit ??= known?.commit;
  if (!commit) {
    throw new Error(`Unknown spec file (sha256 ${sha256}): pass --commit <openai/openai-openapi commit>.`);
  }

  const spec = parse(text, { maxAliasCount: -1 });
  const all = spec?.components?.schemas;
  if (!all || typeof all !== 'object') throw new Error('No components.schemas in the spec.');

  const names = closure(all, ROOTS);
  const defs = {};
  for (const name of [...names].sort()) defs[name] = normalise(all[name], name);

  const output = {
    source: {
      repository: 'openai/openai-openapi',
      path: 'openapi.yaml',
      commit,
      ...(known ? { date: known.date } : {}),
      sha256,
      licence: 'MIT',
      openapiVersion: spec.openapi,
      apiVersion: spec.info?.version,
      generatedBy: 'scripts/extract-openai-schemas.mjs',
    },
    roots: ROOTS,
    normalisations: NORMALISATIONS,
    schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://keyhold.invalid/openai-schemas.json',
      $defs: defs,
    },
  };
  writeFileSync(outFile, `${JSON.stringify(output, null, 2)}\n`);
  formatWithBiome(outFile);
  process.stdout.write(
    `${names.size} schemas from ${relative(process.cwd(), specPath)} → ${relative(process.cwd(), outFile)}\n`,
  );
}

/** Formats the output as `biome check` wants it, so a regenerated file is byte-identical. */
function formatWithBiome(file) {
  const biome = resolve(repoRoot, 'node_modules/.bin/biome');
  if (!existsSync(biome)) {
    process.stderr.write('biome not installed: run `npx biome format --write` on the output.\n');
    return;
  }
  const run = spawnSync(biome, ['format', '--write', file], { cwd: repoRoot, stdio: 'inherit' });
  if (run.status !== 0) throw new Error('biome format failed on the output.');
}

/** The named schemas plus everything they reference, transitively. */
function closure(all, roots) {
  const seen = new Set();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.pop();
    if (seen.has(name)) continue;
    if (!Object.hasOwn(all, name)) throw new Error(`Schema ${name} is referenced but not defined.`);
    seen.add(name);
    for (const ref of referencedNames(all[name])) queue.push(ref);
  }
  return seen;
}

function referencedNames(node, out = []) {
  if (Array.isArray(node)) {
    for (const item of node) referencedNames(item, out);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') out.push(componentName(value));
      else referencedNames(value, out);
    }
  }
  return out;
}

function componentName(ref) {
  const match = /^#\/components\/schemas\/(.+)$/.exec(ref);
  if (!match) throw new Error(`Unsupported $ref ${ref}`);
  return match[1];
}

/** Rewrites one schema (recursively) into JSON Schema 2020-12; `self` names the component. */
function normalise(node, self) {
  if (Array.isArray(node)) return node.map((item) => normalise(item, self));
  if (!node || typeof node !== 'object') return node;

  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-') || key === 'example' || key === 'discriminator' || key === 'nullable') continue;
    if (key === '$ref') out.$ref = `#/$defs/${componentName(value)}`;
    else if (key === '$recursiveRef') out.$ref = `#/$defs/${self}`;
    else if (key === 'required' && Array.isArray(value)) out.required = [...new Set(value)];
    else if (key === 'properties' || key === 'patternProperties' || key === '$defs') {
      // Keys of these maps are property names, not keywords: never filter them.
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, normalise(sub, self)]));
    } else out[key] = normalise(value, self);
  }

  if (node.discriminator && out.oneOf) {
    out.anyOf = out.oneOf;
    delete out.oneOf;
  }
  for (const [bound, limit] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ]) {
    if (typeof out[bound] === 'boolean') {
      if (out[bound] && typeof out[limit] === 'number') {
        out[bound] = out[limit];
        delete out[limit];
      } else delete out[bound];
    }
  }
  // `Model` lists properties and required names but no type, so a non-object would pass; every
  // such schema here describes a JSON object, which strict ajv also insists on.
  const composed = out.$ref || out.anyOf || out.oneOf || out.allOf;
  if (out.type === undefined && !composed && (out.properties || out.required)) out.type = 'object';
  return node.nullable === true ? allowNull(out) : out;
}

function allowNull(schema) {
  if (typeof schema.type === 'string' || Array.isArray(schema.type)) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const result = { ...schema, type: types.includes('null') ? types : [...types, 'null'] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) result.enum = [...schema.enum, null];
    return result;
  }
  // A $ref or a composition without its own type: keep the annotations outside the union.
  const { description, title, default: fallback, deprecated, ...rest } = schema;
  return {
    ...(title !== undefined ? { title } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(deprecated !== undefined ? { deprecated } : {}),
    ...(fallback !== undefined ? { default: fallback } : {}),
    anyOf: [rest, { type: 'null' }],
  };
}

main();
