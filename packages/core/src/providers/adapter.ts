import type { Credential } from '../keys/credential.js';
import type { AbortSignalLike } from '../transport/abort.js';
import type { Transport } from '../transport/transport.js';
import type { ChatRequest, ChatResult, EmbedRequest, EmbedResult, StreamEvent } from '../types/index.js';

/** Everything one call needs beyond the request. The credential is passed per call, never stored. */
export interface CallContext {
  credential: Credential;
  transport: Transport;
  signal?: AbortSignalLike;
  /** Extra headers for the upstream request (never authentication headers). */
  headers?: Readonly<Record<string, string>>;
}

/**
 * One wire format. An adapter translates Keyhold's neutral types to its provider's request and
 * back; it holds no key and no per-call state, so one instance serves every tenant.
 */
export interface ProviderAdapter {
  readonly provider: string;
  generate(request: ChatRequest, call: CallContext): Promise<ChatResult>;
  stream(request: ChatRequest, call: CallContext): AsyncIterable<StreamEvent>;
  embed?(request: EmbedRequest, call: CallContext): Promise<EmbedResult>;
}

/** Builds the adapter for a provider id from the catalogue. */
export type AdapterFactory = (provider: string) => ProviderAdapter;
