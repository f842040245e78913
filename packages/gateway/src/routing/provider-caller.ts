import {
  type AttemptInfo,
  adapterFor,
  type CallOptions,
  type ChatInput,
  type ChatResult,
  type Credential,
  createEngine,
  type EmbedInput,
  type EmbedResult,
  type Engine,
  embed,
  generate,
  type KeyMaterial,
  type Operation,
  type ProviderAdapter,
  Secret,
  type StreamEvent,
  stream,
  type Transport,
  toCredential,
} from '@keyhold/core';
import type { Caller } from '../auth/authenticate.js';
import type { Outcome } from '../http/problem.js';
import type { UsageEvent, UsageSink } from '../metering/usage-sink.js';
import type { Directory } from './directory.js';
import { type ModelCatalogue, type ModelRoute, resolveModel } from './model-catalogue.js';
import { type KeyChoice, type KeySource, resolveProviderKey } from './resolve-provider-key.js';

/** Time bookkeeping of one gateway request: how long it waited on providers. */
export interface RequestTiming {
  /** `performance.now()` when the request arrived. */
  started: number;
  /** Milliseconds spent waiting on upstream calls so far. */
  upstreamMs: number;
}

export interface ProviderCallerOptions {
  directory: Directory;
  catalogue: ModelCatalogue;
  /** Adapters by provider id that replace the registry's (custom providers, a scripted fake). */
  adapters?: Readonly<Record<string, ProviderAdapter>>;
  /** Operator-set non-secret fields per provider (e.g. an egress base URL); a credential's own fields win. */
  providerFields?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  transport?: Transport;
  usage: UsageSink;
  /** Per-attempt upstream timeout (ms). */
  timeoutMs?: number;
  maxRetries?: number;
}

/** A request ready to go upstream: where, with which key (opened for this request only). */
export interface PreparedCall {
  requestId: string;
  caller: Caller;
  route: ModelRoute;
  operation: Operation;
  keySource: KeySource;
  credentialId?: string;
  /** Lives as long as the request; never stored elsewhere. */
  credential: Credential;
}

export interface ProviderCaller {
  /** True when the provider has an adapter (registered, or given in `adapters`). */
  isAvailable(provider: string): boolean;
  /** Resolves the model, applies the tenant's allow-list and key chain, and opens the credential. */
  prepare(input: {
    requestId: string;
    caller: Caller;
    model: string | undefined;
    operation: Operation;
    /** The `X-Provider-API-Key` header value, if sent. */
    headerKey: string | undefined;
  }): Promise<Outcome<PreparedCall>>;
  generate(
    call: PreparedCall,
    input: ChatInput,
    signal: AbortSignal,
    timing: RequestTiming,
  ): Promise<ChatResult>;
  stream(
    call: PreparedCall,
    input: ChatInput,
    signal: AbortSignal,
    timing: RequestTiming,
  ): AsyncIterable<StreamEvent>;
  embed(
    call: PreparedCall,
    input: EmbedInput,
    signal: AbortSignal,
    timing: RequestTiming,
  ): Promise<EmbedResult>;
}

const MAX_ENGINES = 10_000;

/**
 * Calls providers for the gateway through core's engine (retries, timeouts, abort handling), with
 * the key passed per call: an engine is cached per `provider/model` and holds no key, so
 * concurrent requests of different tenants share engines but never a credential.
 */
export function createProviderCaller(options: ProviderCallerOptions): ProviderCaller {
  const engines = new Map<string, Engine>();
  const available = new Map<string, boolean>();

  function isAvailable(provider: string): boolean {
    let known = available.get(provider);
    if (known === undefined) {
      known = options.adapters?.[provider] !== undefined || hasRegisteredAdapter(provider);
      available.set(provider, known);
    }
    return known;
  }

  function engineFor(route: ModelRoute): Engine {
    let engine = engines.get(route.id);
    if (!engine) {
      const adapter = options.adapters?.[route.provider];
      engine = createEngine({
        provider: route.provider,
        model: route.model,
        options: {
          ...options.providerFields?.[route.provider],
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
        },
        ...(adapter ? { adapter } : {}),
      });
      if (engines.size >= MAX_ENGINES) engines.delete(engines.keys().next().value as string);
      engines.set(route.id, engine);
    }
    return engine;
  }

  function callOptions(
    call: PreparedCall,
    signal: AbortSignal,
    onAttempt: (a: AttemptInfo) => void,
  ): CallOptions {
    return {
      apiKey: materialOf(call.credential),
      signal,
      onAttempt,
      ...(options.transport ? { transport: options.transport } : {}),
    };
  }

  function usageEvent(call: PreparedCall, attempt: AttemptInfo): UsageEvent {
    const error = attempt.error;
    return {
      requestId: call.requestId,
      attempt: attempt.attempt,
      tenantId: call.caller.tenant.id,
      ...(call.caller.user ? { userId: call.caller.user.id } : {}),
      virtualKeyId: call.caller.virtualKeyId,
      ...(call.credentialId ? { credentialId: call.credentialId } : {}),
      keySource: call.keySource,
      provider: call.route.provider,
      model: call.route.model,
      operation: call.operation,
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: attempt.durationMs,
      status: error ? 'error' : 'ok',
      ...(error ? { errorClass: error.code } : {}),
      ...(error?.upstreamStatus !== undefined ? { upstreamStatus: error.upstreamStatus } : {}),
    };
  }

  /** Failed attempts are recorded at once; the successful one once its token counts are known. */
  function meter(call: PreparedCall) {
    let success: UsageEvent | undefined;
    return {
      onAttempt(attempt: AttemptInfo) {
        if (attempt.error) record(usageEvent(call, attempt));
        else success = usageEvent(call, attempt);
      },
      succeeded(tokens: { inputTokens: number; outputTokens: number; cachedInputTokens?: number }) {
        if (success) record({ ...success, ...tokens });
      },
    };
  }

  function record(event: UsageEvent): void {
    try {
      options.usage.record(event);
    } catch {
      // Metering must never fail a request.
    }
  }

  return {
    isAvailable,

    async prepare(input) {
      const tenant = input.caller.tenant;
      const routed = resolveModel(input.model, tenant, options.catalogue, input.operation, isAvailable);
      if (!routed.ok) return routed;
      const route = routed.value;
      const chosen = await resolveProviderKey({
        directory: options.directory,
        caller: input.caller,
        provider: route.provider,
        operation: input.operation,
        hasHeaderKey: input.headerKey !== undefined,
      });
      if (!chosen.ok) return chosen;
      const credential = await openChoice(options.directory, chosen.value, route.provider, input.headerKey);
      return {
        ok: true,
        value: {
          requestId: input.requestId,
          caller: input.caller,
          route,
          operation: input.operation,
          keySource: chosen.value.source,
          ...(chosen.value.source !== 'header' ? { credentialId: chosen.value.credentialId } : {}),
          credential,
        },
      };
    },

    async generate(call, input, signal, timing) {
      const metering = meter(call);
      const started = performance.now();
      try {
        const result = await generate(
          engineFor(call.route),
          input,
          callOptions(call, signal, metering.onAttempt),
        );
        metering.succeeded(tokensOf(result.usage));
        return result;
      } finally {
        timing.upstreamMs += performance.now() - started;
      }
    },

    async *stream(call, input, signal, timing) {
      const metering = meter(call);
      const events = stream(engineFor(call.route), input, callOptions(call, signal, metering.onAttempt));
      const iterator = events[Symbol.asyncIterator]();
      let usage = { inputTokens: 0, outputTokens: 0 };
      try {
        for (;;) {
          const started = performance.now();
          let next: IteratorResult<StreamEvent>;
          try {
            next = await iterator.next();
          } finally {
            timing.upstreamMs += performance.now() - started;
          }
          if (next.done) break;
          if (next.value.type === 'usage') usage = tokensOf(next.value.usage);
          yield next.value;
        }
        metering.succeeded(usage);
      } finally {
        await iterator.return?.(undefined);
      }
    },

    async embed(call, input, signal, timing) {
      const metering = meter(call);
      const started = performance.now();
      try {
        const result = await embed(
          engineFor(call.route),
          input,
          callOptions(call, signal, metering.onAttempt),
        );
        metering.succeeded({ inputTokens: result.usage.inputTokens, outputTokens: 0 });
        return result;
      } finally {
        timing.upstreamMs += performance.now() - started;
      }
    },
  };
}

function tokensOf(usage: ChatResult['usage']) {
  return {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    ...(usage.cachedInputTokens !== undefined ? { cachedInputTokens: usage.cachedInputTokens } : {}),
  };
}

async function openChoice(
  directory: Directory,
  choice: KeyChoice,
  provider: string,
  headerKey: string | undefined,
): Promise<Credential> {
  if (choice.source === 'header') return toCredential(provider, Secret.from(headerKey ?? ''));
  return directory.open(choice.ref);
}

/** A credential as per-call key material: secrets stay `Secret`s, non-secret fields stay strings. */
function materialOf(credential: Credential): KeyMaterial {
  return { ...credential.fields, ...credential.secrets };
}

function hasRegisteredAdapter(provider: string): boolean {
  try {
    adapterFor(provider);
    return true;
  } catch {
    return false;
  }
}
