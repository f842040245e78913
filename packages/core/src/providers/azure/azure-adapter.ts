import { InvalidRequestError } from '../../errors.js';
import type { CallContext, ProviderAdapter } from '../adapter.js';
import { createOpenAIAdapter, type OpenAIEndpoint } from '../openai/openai-adapter.js';

/**
 * Azure OpenAI: OpenAI's chat and embeddings wire (plus `prompt_filter_results` /
 * `content_filter_results` annotations and a `content_filter` finish reason, which the OpenAI
 * mappers read), addressed by resource endpoint, deployment and api-version, authenticated with
 * the `api-key` header (never `Authorization`). The deployment, not the body's model name,
 * decides which model answers.
 * https://learn.microsoft.com/azure/ai-foundry/openai/reference
 *
 * @example
 * const engine = createEngine({
 *   provider: 'azure',
 *   model: 'gpt-4o',
 *   options: { endpoint: 'https://my-resource.openai.azure.com', deployment: 'chat', apiVersion: '2024-10-21' },
 * });
 * const result = await generate(engine, { messages: [{ role: 'user', content: 'Hi' }] }, { apiKey: tenantKey });
 */
export function createAzureAdapter(provider: string): ProviderAdapter {
  return createOpenAIAdapter(provider, azureEndpoint(provider));
}

/** `{endpoint}/openai/deployments/{deployment}/{operation}?api-version={apiVersion}` with `api-key`. */
export function azureEndpoint(provider: string): OpenAIEndpoint {
  return {
    url(call: CallContext, operation) {
      const fields = call.credential.fields;
      for (const name of ['endpoint', 'deployment', 'apiVersion'] as const) {
        if (!fields[name])
          throw new InvalidRequestError(`The ${provider} credential has no ${name}`, { provider });
      }
      const { endpoint, deployment, apiVersion } = fields as Record<
        'endpoint' | 'deployment' | 'apiVersion',
        string
      >;
      // The endpoint is the resource root; tolerate a trailing slash or a pasted `/openai`.
      const root = endpoint.replace(/\/+$/, '').replace(/\/openai$/, '');
      return `${root}/openai/deployments/${encodeURIComponent(deployment)}/${operation}?api-version=${encodeURIComponent(apiVersion)}`;
    },
    authHeaders(call: CallContext): Record<string, string> {
      const key = call.credential.secrets.apiKey;
      return key ? { 'api-key': key.reveal() } : {};
    },
  };
}
