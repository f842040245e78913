export { collectStream } from './collect-stream.js';
export {
  type AttemptInfo,
  type CallOptions,
  type ChatStream,
  type CreateEngineInput,
  createEngine,
  type Engine,
  type EngineOptions,
  embed,
  generate,
  stream,
} from './engine.js';
export {
  AbortedError,
  AuthenticationError,
  ContextLengthError,
  type ErrorCode,
  InvalidRequestError,
  isKeyholdError,
  KeyholdError,
  NotFoundError,
  PermissionError,
  ProviderUnavailableError,
  RateLimitError,
  TimeoutError,
} from './errors.js';
export { configure, type KeyholdConfig } from './keys/config.js';
export {
  type Credential,
  type CredentialCheck,
  checkCredential,
  type KeyMaterial,
  toCredential,
} from './keys/credential.js';
export {
  type KeySource,
  type ResolvedCredential,
  type ResolveInput,
  resolveCredential,
} from './keys/resolve-credential.js';
export {
  type KeyResolver,
  type KeyResolverFunction,
  type KeyResolverObject,
  NOT_FOUND,
  type ResolverContext,
} from './keys/resolver.js';
export { runtimeKeys } from './keys/runtime-store.js';
export { hintOf, Secret } from './keys/secret.js';
export type { CallContext, ProviderAdapter } from './providers/adapter.js';
export { createAnthropicAdapter } from './providers/anthropic/anthropic-adapter.js';
export { createAzureAdapter } from './providers/azure/azure-adapter.js';
export { createBedrockAdapter } from './providers/bedrock/bedrock-adapter.js';
export {
  type CredentialField,
  getProviderInfo,
  isKnownProvider,
  type Operation,
  PROVIDERS,
  type ProviderInfo,
  type WireFormat,
} from './providers/catalogue.js';
export {
  createFakeAdapter,
  type FakeAdapter,
  type FakeAdapterOptions,
  type FakeCall,
  type FakeStep,
} from './providers/fake/fake-adapter.js';
export { createGeminiAdapter } from './providers/gemini/gemini-adapter.js';
export { errorFromStatus, parseRetryAfter } from './providers/http-errors.js';
export { createOpenAIAdapter, type OpenAIEndpoint } from './providers/openai/openai-adapter.js';
export { adapterFor } from './providers/registry.js';
export { Session, type SessionOptions } from './session.js';
export { type AbortSignalLike, AbortSource, toAbortSignal } from './transport/abort.js';
export { parseSse, type SseEvent } from './transport/sse.js';
export {
  createUndiciTransport,
  defaultTransport,
  type Transport,
  type TransportRequest,
  type TransportResponse,
  type UndiciTransportOptions,
} from './transport/transport.js';
export type * from './types/index.js';
