/**
 * Which providers Keyhold speaks to, which wire format each uses, and which credential fields each
 * needs. The gateway's admin API and the dashboard build their credential forms from this table.
 */

export type WireFormat = 'openai' | 'anthropic' | 'gemini' | 'azure' | 'bedrock' | 'fake';

export type Operation = 'chat' | 'embedding';

export interface CredentialField {
  /** Field name as used in `Credential.secrets` / `Credential.fields` and in API payloads. */
  name: string;
  label: string;
  /** Secret fields are encrypted at rest and only ever shown as a hint. */
  secret: boolean;
  required: boolean;
  /** Environment variables the library reads for this field, first found wins. */
  env?: string[];
  kind: 'key' | 'url' | 'text';
  /** Extra validation for non-secret values. */
  pattern?: string;
  description?: string;
}

export interface ProviderInfo {
  id: string;
  name: string;
  wireFormat: WireFormat;
  /** Where requests go when neither the credential nor the engine names a base URL. */
  defaultBaseURL?: string;
  operations: Operation[];
  credentialFields: CredentialField[];
  /**
   * Fields of which at least one group must be complete (Bedrock: an API key, or an access key
   * pair). When absent, every `required` field is needed.
   */
  credentialAlternatives?: string[][];
}

const apiKey = (env: string[], required = true): CredentialField => ({
  name: 'apiKey',
  label: 'API key',
  secret: true,
  required,
  env,
  kind: 'key',
});

const baseURL = (required: boolean, description: string): CredentialField => ({
  name: 'baseURL',
  label: 'Base URL',
  secret: false,
  required,
  kind: 'url',
  description,
});

function openAICompatible(
  id: string,
  name: string,
  defaultBaseURL: string | undefined,
  env: string[],
  options: { keyRequired?: boolean; baseURLRequired?: boolean; embeddings?: boolean } = {},
): ProviderInfo {
  const fields = [apiKey(env, options.keyRequired ?? true)];
  if (options.baseURLRequired || defaultBaseURL === undefined) {
    fields.push(baseURL(true, 'The server’s OpenAI-compatible API root, e.g. https://host:8000/v1'));
  }
  return {
    id,
    name,
    wireFormat: 'openai',
    ...(defaultBaseURL ? { defaultBaseURL } : {}),
    operations: options.embeddings === false ? ['chat'] : ['chat', 'embedding'],
    credentialFields: fields,
  };
}

export const PROVIDERS: readonly ProviderInfo[] = [
  openAICompatible('openai', 'OpenAI', 'https://api.openai.com/v1', ['OPENAI_API_KEY']),
  {
    id: 'anthropic',
    name: 'Anthropic',
    wireFormat: 'anthropic',
    defaultBaseURL: 'https://api.anthropic.com',
    operations: ['chat'],
    credentialFields: [apiKey(['ANTHROPIC_API_KEY'])],
  },
  {
    id: 'gemini',
    name: 'Google Gemini',
    wireFormat: 'gemini',
    defaultBaseURL: 'https://generativelanguage.googleapis.com',
    operations: ['chat', 'embedding'],
    credentialFields: [apiKey(['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY'])],
  },
  {
    id: 'azure',
    name: 'Azure OpenAI',
    wireFormat: 'azure',
    operations: ['chat', 'embedding'],
    credentialFields: [
      apiKey(['AZURE_OPENAI_API_KEY']),
      {
        name: 'endpoint',
        label: 'Endpoint',
        secret: false,
        required: true,
        env: ['AZURE_OPENAI_ENDPOINT'],
        kind: 'url',
        description: 'The resource endpoint, e.g. https://my-resource.openai.azure.com',
      },
      {
        name: 'apiVersion',
        label: 'API version',
        secret: false,
        required: true,
        env: ['OPENAI_API_VERSION', 'AZURE_OPENAI_API_VERSION'],
        kind: 'text',
        pattern: '^\\d{4}-\\d{2}-\\d{2}(-preview)?$',
        description: 'e.g. 2024-10-21',
      },
      {
        name: 'deployment',
        label: 'Deployment',
        secret: false,
        required: true,
        env: ['AZURE_OPENAI_DEPLOYMENT'],
        kind: 'text',
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
        description: 'The deployment name that serves the model',
      },
    ],
  },
  {
    id: 'bedrock',
    name: 'AWS Bedrock',
    wireFormat: 'bedrock',
    operations: ['chat'],
    credentialFields: [
      {
        name: 'apiKey',
        label: 'Bedrock API key',
        secret: true,
        required: false,
        env: ['AWS_BEARER_TOKEN_BEDROCK'],
        kind: 'key',
      },
      {
        name: 'accessKeyId',
        label: 'Access key id',
        secret: true,
        required: false,
        env: ['AWS_ACCESS_KEY_ID'],
        kind: 'key',
      },
      {
        name: 'secretAccessKey',
        label: 'Secret access key',
        secret: true,
        required: false,
        env: ['AWS_SECRET_ACCESS_KEY'],
        kind: 'key',
      },
      {
        name: 'sessionToken',
        label: 'Session token',
        secret: true,
        required: false,
        env: ['AWS_SESSION_TOKEN'],
        kind: 'key',
      },
      {
        name: 'region',
        label: 'Region',
        secret: false,
        required: true,
        env: ['AWS_REGION', 'AWS_DEFAULT_REGION'],
        kind: 'text',
        pattern: '^[a-z]{2}(-gov)?-[a-z]+-\\d$',
        description: 'e.g. us-east-1',
      },
    ],
    credentialAlternatives: [['apiKey'], ['accessKeyId', 'secretAccessKey']],
  },
  openAICompatible('mistral', 'Mistral', 'https://api.mistral.ai/v1', ['MISTRAL_API_KEY']),
  openAICompatible('groq', 'Groq', 'https://api.groq.com/openai/v1', ['GROQ_API_KEY'], { embeddings: false }),
  openAICompatible('together', 'Together AI', 'https://api.together.xyz/v1', ['TOGETHER_API_KEY']),
  openAICompatible('fireworks', 'Fireworks AI', 'https://api.fireworks.ai/inference/v1', [
    'FIREWORKS_API_KEY',
  ]),
  openAICompatible('deepseek', 'DeepSeek', 'https://api.deepseek.com/v1', ['DEEPSEEK_API_KEY'], {
    embeddings: false,
  }),
  openAICompatible('xai', 'xAI', 'https://api.x.ai/v1', ['XAI_API_KEY'], { embeddings: false }),
  openAICompatible('openrouter', 'OpenRouter', 'https://openrouter.ai/api/v1', ['OPENROUTER_API_KEY']),
  openAICompatible('perplexity', 'Perplexity', 'https://api.perplexity.ai', ['PERPLEXITY_API_KEY'], {
    embeddings: false,
  }),
  openAICompatible('ovhcloud', 'OVHcloud AI Endpoints', 'https://oai.endpoints.kepler.ai.cloud.ovh.net/v1', [
    'OVH_AI_ENDPOINTS_ACCESS_TOKEN',
  ]),
  openAICompatible('berget', 'Berget AI', 'https://api.berget.ai/v1', ['BERGET_API_KEY']),
  openAICompatible('vllm', 'vLLM', undefined, ['VLLM_API_KEY']),
  openAICompatible('ollama', 'Ollama', 'http://localhost:11434/v1', ['OLLAMA_API_KEY'], {
    keyRequired: false,
  }),
  openAICompatible('openai-compatible', 'Custom OpenAI-compatible', undefined, ['OPENAI_COMPATIBLE_API_KEY']),
  {
    id: 'fake',
    name: 'Fake (scripted, offline)',
    wireFormat: 'fake',
    operations: ['chat', 'embedding'],
    credentialFields: [apiKey(['FAKE_API_KEY'])],
  },
];

const byId = new Map(PROVIDERS.map((p) => [p.id, p]));

export type ProviderId = string;

export function getProviderInfo(id: string): ProviderInfo | undefined {
  return byId.get(id);
}

export function isKnownProvider(id: string): boolean {
  return byId.has(id);
}
