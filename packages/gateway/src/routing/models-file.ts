import { readFile } from 'node:fs/promises';
import { getProviderInfo } from '@keyhold/core';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import type { PriceOverride } from '../metering/price-table.js';
import { PricingSchema } from './config-schema.js';
import type { ModelCatalogue } from './model-catalogue.js';

/**
 * The operator's model catalogue as a file of its own (`keyhold serve --models`, or
 * `KEYHOLD_MODELS_FILE`), for store mode, where there is no configuration file. The same shape as
 * the configuration file's `models` section:
 *
 * ```yaml
 * aliases:
 *   fast: openai/gpt-4o-mini
 *   smart: anthropic/claude-sonnet-4-5
 * list:                       # listed by GET /v1/models besides the aliases
 *   - openai/gpt-4o
 * pricing:                    # US$ per million tokens; wins over the bundled price catalogue
 *   overrides:
 *     - { provider: vllm, model: '*', inputPerMTok: 0.1, outputPerMTok: 0.2 }
 * ```
 *
 * `pricing` is the configuration file's section of the same name: in store mode it is how an
 * operator prices models the catalogue does not know (self-hosted, OpenAI-compatible), which
 * budgets otherwise never hold back (an unpriced call costs nothing).
 */
export const ModelsFileSchema = Type.Object(
  {
    aliases: Type.Optional(Type.Record(Type.String(), Type.String())),
    list: Type.Optional(Type.Array(Type.String())),
    pricing: Type.Optional(PricingSchema),
  },
  { additionalProperties: false },
);

export type ModelsFile = Static<typeof ModelsFileSchema>;

export type ModelsFileResult =
  | { ok: true; catalogue: ModelCatalogue; priceOverrides: PriceOverride[] }
  | { ok: false; errors: string[] };

const ALIAS = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/**
 * Parses and checks a models file (YAML, or JSON, which YAML reads too). Besides the shape, each
 * alias target and listed id must be `provider/model` with a provider Keyhold knows, and an alias
 * name may not contain `/` (it would shadow a `provider/model` id). Every problem is reported,
 * each naming where it is, e.g. `aliases.fast: "gpt-4o" is not provider/model`.
 */
export function parseModelsFile(text: string): ModelsFileResult {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 }) ?? {};
  } catch (error) {
    return { ok: false, errors: [`not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`] };
  }
  if (!Value.Check(ModelsFileSchema, raw)) {
    const errors = [...Value.Errors(ModelsFileSchema, raw)]
      .slice(0, 10)
      .map(
        (e) => `${e.path.replace(/^\//, '').replaceAll('/', '.') || '(top level)'}: ${describe(e.message)}`,
      );
    return { ok: false, errors };
  }
  const file = raw as ModelsFile;
  const errors: string[] = [];
  const aliases: Record<string, string> = {};
  for (const [name, target] of Object.entries(file.aliases ?? {})) {
    if (!ALIAS.test(name)) {
      errors.push(
        `aliases.${printable(name)}: an alias is 1-128 letters, digits or . _ : @ - (no "/": that is how provider/model ids look)`,
      );
    }
    const problem = checkModelId(target);
    if (problem) errors.push(`aliases.${printable(name)}: ${problem}`);
    aliases[name] = target;
  }
  for (const [i, id] of (file.list ?? []).entries()) {
    const problem = checkModelId(id);
    if (problem) errors.push(`list.${i}: ${problem}`);
  }
  const priceOverrides = file.pricing?.overrides ?? [];
  for (const [i, override] of priceOverrides.entries()) {
    if (!getProviderInfo(override.provider)) {
      errors.push(`pricing.overrides.${i}.provider: unknown provider "${printable(override.provider)}"`);
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    catalogue: { aliases, list: [...new Set(file.list ?? [])] },
    priceOverrides: [...priceOverrides],
  };
}

/** Reads and parses a models file; errors name the file. */
export async function loadModelsFile(path: string): Promise<ModelsFileResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { ok: false, errors: [`cannot read the file${code ? ` (${code})` : ''}`] };
  }
  return parseModelsFile(text);
}

function checkModelId(id: string): string | undefined {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1) return `"${printable(id)}" is not provider/model`;
  const provider = id.slice(0, slash);
  if (!getProviderInfo(provider)) return `unknown provider "${printable(provider)}" in "${printable(id)}"`;
  return undefined;
}

function describe(message: string): string {
  return message === 'Unexpected property'
    ? 'unknown field (a models file has "aliases", "list" and "pricing")'
    : message;
}

function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
