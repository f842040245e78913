import { type Problem, problem } from '../http/problem.js';

/**
 * Request fields with which other gateways let a client pick the upstream host or key
 * (LiteLLM's `api_base`, OpenAI SDK options sent as body fields, Azure's endpoint…). Keyhold
 * never honours them: the operator's configuration and the stored credential decide where a key
 * goes. Rejecting them explicitly (instead of ignoring them) tells the client why its override
 * had no effect, and makes an attempt visible.
 */
const FORBIDDEN = new Set([
  'api_base',
  'apibase',
  'base_url',
  'baseurl',
  'api_url',
  'apiurl',
  'endpoint',
  'azure_endpoint',
  'azureendpoint',
  'api_key',
  'apikey',
  'api_version',
  'apiversion',
  'aws_region_name',
  'region',
  'custom_llm_provider',
  'extra_headers',
  'headers',
]);

/**
 * Verdicts by field name. Bodies name the same few fields (`model`, `messages`, …), and JSON.parse
 * gives keys as interned strings whose hash is already known: a lookup here replaces lower-casing
 * and rewriting every key of every request. Bounded, because clients choose the names.
 */
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 1_000;

function isForbidden(name: string): boolean {
  let forbidden = verdicts.get(name);
  if (forbidden === undefined) {
    const lower = name.toLowerCase();
    forbidden = FORBIDDEN.has(lower.replace(/-/g, '_')) || FORBIDDEN.has(lower);
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
    verdicts.set(name, forbidden);
  }
  return forbidden;
}

/** A 400 problem when the body's top level names an upstream host, key or header override. */
export function rejectUpstreamOverrides(body: Record<string, unknown>): Problem | undefined {
  for (const name in body) {
    if (!Object.hasOwn(body, name) || !isForbidden(name)) continue;
    return problem(
      400,
      'upstream_override_not_allowed',
      `The field "${name}" is not accepted: the gateway decides the upstream host and key`,
      name,
    );
  }
  return undefined;
}
