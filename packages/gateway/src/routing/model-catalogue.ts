import { getProviderInfo, type Operation } from '@keyhold/core';
import { type Outcome, problem } from '../http/problem.js';
import type { Tenant } from './directory.js';

/** The operator's model catalogue (from the configuration file). */
export interface ModelCatalogue {
  /** Alias → `provider/model`, e.g. `fast: openai/gpt-4o-mini`. */
  aliases: Readonly<Record<string, string>>;
  /** `provider/model` ids that `GET /v1/models` lists besides the aliases. */
  list: readonly string[];
}

/** Where a request goes. */
export interface ModelRoute {
  provider: string;
  /** The provider's own model name. */
  model: string;
  /** `provider/model`. */
  id: string;
  /** What the client named (the alias, the `provider/model`, or the tenant default). */
  requested: string;
}

/**
 * Resolves the model a request names: an operator alias, a `provider/model`, or (when the request
 * names none) the tenant's default model. Then applies the tenant's allow-list.
 * 404 for an unknown model or provider, 403 for a model the tenant may not use.
 */
export function resolveModel(
  name: string | undefined,
  tenant: Tenant,
  catalogue: ModelCatalogue,
  operation: Operation,
  isAvailable: (provider: string) => boolean,
): Outcome<ModelRoute> {
  const requested = name ?? tenant.settings.defaultModel;
  if (requested === undefined || requested === '') {
    return { ok: false, problem: problem(400, 'missing_model', 'The request names no model', 'model') };
  }
  const target = Object.hasOwn(catalogue.aliases, requested) ? catalogue.aliases[requested]! : requested;
  const slash = target.indexOf('/');
  if (slash <= 0 || slash === target.length - 1) {
    return {
      ok: false,
      problem: problem(
        404,
        'model_not_found',
        `The model "${printable(requested)}" does not exist: use "provider/model" or an alias`,
        'model',
      ),
    };
  }
  const provider = target.slice(0, slash);
  const model = target.slice(slash + 1);
  const info = getProviderInfo(provider);
  if (!info || !isAvailable(provider)) {
    return {
      ok: false,
      problem: problem(404, 'model_not_found', `Unknown provider "${printable(provider)}"`, 'model'),
    };
  }
  if (!info.operations.includes(operation)) {
    return {
      ok: false,
      problem: problem(
        400,
        'unsupported_operation',
        `Provider "${provider}" does not support ${operation === 'embedding' ? 'embeddings' : 'chat'}`,
        'model',
      ),
    };
  }
  const id = `${provider}/${model}`;
  if (!isModelAllowed(tenant, id, requested)) {
    return {
      ok: false,
      problem: problem(
        403,
        'model_not_allowed',
        `This tenant may not use the model "${printable(requested)}"`,
        'model',
      ),
    };
  }
  return { ok: true, value: { provider, model, id, requested } };
}

/** True when the tenant's allow-list (if any) admits the model, by `provider/model` or alias name. */
export function isModelAllowed(tenant: Tenant, id: string, requested = id): boolean {
  const patterns = tenant.settings.allowedModels;
  if (!patterns) return true;
  return patterns.some((p) => matchesPattern(p, id) || matchesPattern(p, requested));
}

const patternCache = new Map<string, RegExp>();

/** Glob match where `*` is any run of characters (including `/`). */
export function matchesPattern(pattern: string, value: string): boolean {
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
    if (patternCache.size > 10_000) patternCache.clear();
    patternCache.set(pattern, re);
  }
  return re.test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Model names are echoed in messages; keep them short and printable. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}
