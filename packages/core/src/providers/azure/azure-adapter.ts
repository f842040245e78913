import type { ProviderAdapter } from '../adapter.js';
import { joinUrl } from '../http-call.js';
import { createOpenAIAdapter } from '../openai/openai-adapter.js';

/**
 * Azure OpenAI: OpenAI's chat and embeddings wire, addressed by resource endpoint, deployment and
 * api-version, authenticated with the `api-key` header. The deployment (not the request's model
 * name) decides which model answers; the model name still goes in the body, where Azure ignores it.
 * https://learn.microsoft.com/azure/ai-services/openai/reference
 */
export function createAzureAdapter(provider: string): ProviderAdapter {
  return createOpenAIAdapter(provider, {
    url(call, operation) {
      const { endpoint, deployment, apiVersion } = call.credential.fields;
      if (!endpoint || !deployment || !apiVersion) {
        throw new TypeError('Azure needs endpoint, deployment and apiVersion');
      }
      const path = `openai/deployments/${encodeURIComponent(deployment)}/${operation}`;
      return `${joinUrl(endpoint, path)}?api-version=${encodeURIComponent(apiVersion)}`;
    },
    authHeaders(call): Record<string, string> {
      const key = call.credential.secrets.apiKey;
      return key ? { 'api-key': key.reveal() } : {};
    },
  });
}
