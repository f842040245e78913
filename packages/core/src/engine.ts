import {
  AbortedError,
  InvalidRequestError,
  isKeyholdError,
  type KeyholdError,
  TimeoutError,
} from './errors.js';
import type { KeyMaterial } from './keys/credential.js';
import { type KeySource, type ResolvedCredential, resolveCredentialNow } from './keys/resolve-credential.js';
import type { KeyResolver } from './keys/resolver.js';
import { Secret } from './keys/secret.js';
import type { CallContext, ProviderAdapter } from './providers/adapter.js';
import { getProviderInfo, type Operation } from './providers/catalogue.js';
import { adapterFor } from './providers/registry.js';
import { type AbortSignalLike, AbortSource, eitherSignal } from './transport/abort.js';
import { batchesOf } from './transport/event-batches.js';
import { defaultTransport, type Transport } from './transport/transport.js';
import type { ChatInput, ChatResult, EmbedInput, EmbedResult, StreamEvent } from './types/index.js';

/** Non-secret settings of an engine. Keys never go here. */
export interface EngineOptions {
  /** Override the provider's API root (OpenAI family, Anthropic, Gemini, Bedrock endpoint). */
  baseURL?: string;
  /** Azure resource endpoint. */
  endpoint?: string;
  apiVersion?: string;
  deployment?: string;
  region?: string;
  /** Default call timeout in ms (per attempt). */
  timeoutMs?: number;
  /** Default retries of transient failures. */
  maxRetries?: number;
}

/**
 * An adapter, a model and options: everything needed to call a model except the key. Engines are
 * plain frozen data: they can be cached, shared across tenants, logged and serialised, and carry
 * no key material even when created with a resolver.
 */
export interface Engine {
  readonly provider: string;
  readonly model: string;
  readonly options: Readonly<EngineOptions>;
}

export interface CreateEngineInput {
  provider: string;
  model: string;
  options?: EngineOptions;
  /** The engine's link in the key chain: a map, a function or a resolver object. */
  keys?: KeyResolver;
  /** Use this adapter instead of the registry's (custom providers, the scripted fake). */
  adapter?: ProviderAdapter;
}

interface EnginePrivate {
  resolver: KeyResolver | undefined;
  adapter: ProviderAdapter;
  /** The options a credential's fields default to (base URL, region …), computed once. */
  defaults: Readonly<Record<string, string>>;
}

// Held outside the engine object so that no serialiser or inspector can reach the resolver (a map
// resolver contains keys).
const privates = new WeakMap<Engine, EnginePrivate>();

const SECRET_OPTION_NAMES =
  /^(api_?key|key|secret.*|access_?key.*|session_?token|token|password|authorization)$/i;

/**
 * @example
 * const engine = createEngine({ provider: 'openai', model: 'gpt-4o-mini' });
 * const result = await generate(engine, { messages: [{ role: 'user', content: 'Hi' }] }, { apiKey: tenantKey });
 */
export function createEngine(input: CreateEngineInput): Engine {
  if (!input.adapter && !getProviderInfo(input.provider)) {
    throw new InvalidRequestError(`Unknown provider "${input.provider}"`, { provider: input.provider });
  }
  const options = { ...input.options } as Record<string, unknown>;
  for (const [name, value] of Object.entries(options)) {
    if (SECRET_OPTION_NAMES.test(name) || value instanceof Secret) {
      throw new TypeError(
        `Engine options must not hold keys ("${name}"): pass apiKey per call or give the engine a resolver`,
      );
    }
  }
  const engine: Engine = Object.freeze({
    provider: input.provider,
    model: input.model,
    options: Object.freeze(options) as Readonly<EngineOptions>,
  });
  const { timeoutMs: _t, maxRetries: _r, ...defaults } = engine.options;
  privates.set(engine, {
    resolver: input.keys === undefined ? undefined : freezeResolver(input.keys),
    adapter: input.adapter ?? adapterFor(input.provider),
    defaults: Object.freeze(defaults as Record<string, string>),
  });
  return engine;
}

/** A map resolver's values become Secrets, so even the private copy prints as hints only. */
function freezeResolver(resolver: KeyResolver): KeyResolver {
  if (typeof resolver === 'function' || typeof (resolver as { fetch?: unknown }).fetch === 'function')
    return resolver;
  const copy: Record<string, KeyMaterial> = {};
  for (const [provider, material] of Object.entries(resolver as Record<string, KeyMaterial>)) {
    copy[provider] = typeof material === 'string' ? Secret.from(material) : material;
  }
  return Object.freeze(copy);
}

/** Per-call options. `apiKey` is the first link of the key chain. */
export interface CallOptions {
  apiKey?: KeyMaterial;
  signal?: AbortSignalLike;
  /** Passed to the engine's resolver (e.g. `{ tenantId }`). */
  context?: Record<string, unknown>;
  /** Retries of transient failures (default: engine option, else 2). Streams retry only before their first event. */
  maxRetries?: number;
  /** Per-attempt timeout in ms. */
  timeoutMs?: number;
  transport?: Transport;
  /** Extra upstream headers (not authentication). */
  headers?: Record<string, string>;
  /** Told about every upstream attempt, successful or not. */
  onAttempt?: (attempt: AttemptInfo) => void;
}

export interface AttemptInfo {
  attempt: number;
  provider: string;
  model: string;
  keySource: KeySource;
  durationMs: number;
  error?: KeyholdError;
}

function state(engine: Engine): EnginePrivate {
  const p = privates.get(engine);
  if (!p)
    throw new TypeError(
      'Not an engine made by createEngine (a cloned or deserialised engine has no adapter)',
    );
  return p;
}

/** Resolves the call's credential: synchronously unless the engine's resolver is asynchronous. */
function prepare(
  engine: Engine,
  operation: Operation,
  options: CallOptions,
): ResolvedCredential | Promise<ResolvedCredential> {
  if (options.signal?.aborted) throw new AbortedError('The call was aborted', { provider: engine.provider });
  const { resolver, defaults } = state(engine);
  return resolveCredentialNow({
    provider: engine.provider,
    model: engine.model,
    operation,
    callKey: options.apiKey,
    resolver,
    defaults,
    context: options.context,
  });
}

interface Attempt {
  context: CallContext;
  /** Turns an abort caused by our own timeout into a TimeoutError. */
  classify(error: unknown): unknown;
  done(): void;
}

function startAttempt(engine: Engine, resolved: ResolvedCredential, options: CallOptions): Attempt {
  const timeoutMs = options.timeoutMs ?? engine.options.timeoutMs;
  // A cheap abort source rather than AbortController + AbortSignal.any (see transport/abort.ts).
  const timeout = timeoutMs ? new AbortSource() : undefined;
  const timer = timeout ? setTimeout(() => timeout.abort(), timeoutMs) : undefined;
  const linked = timeout && options.signal ? eitherSignal(options.signal, timeout) : undefined;
  const signal = linked?.signal ?? timeout ?? options.signal;
  // Plain assignments rather than conditional spreads: this runs once per upstream attempt.
  const context: CallContext = {
    credential: resolved.credential,
    transport: options.transport ?? defaultTransport(),
  };
  if (signal) context.signal = signal;
  if (options.headers) context.headers = options.headers;
  return {
    context,
    classify(error) {
      if (timeout?.aborted && !options.signal?.aborted) {
        return new TimeoutError(`${engine.provider} did not answer within ${timeoutMs} ms`, {
          provider: engine.provider,
        });
      }
      if (options.signal?.aborted)
        return new AbortedError('The call was aborted', { provider: engine.provider });
      return error;
    },
    done() {
      if (timer) clearTimeout(timer);
      linked?.detach();
    },
  };
}

function retryDelay(error: unknown, attempt: number): number | undefined {
  if (!isKeyholdError(error) || !error.transient) return undefined;
  const hinted = (error as { retryAfterMs?: number }).retryAfterMs;
  if (hinted !== undefined) return hinted <= 60_000 ? hinted : undefined;
  const base = 250 * 2 ** attempt;
  return base / 2 + Math.random() * (base / 2);
}

function sleep(ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function withRetries<T>(
  engine: Engine,
  resolved: ResolvedCredential,
  options: CallOptions,
  run: (context: CallContext) => Promise<T>,
): Promise<T> {
  const maxRetries = options.maxRetries ?? engine.options.maxRetries ?? 2;
  for (let attempt = 0; ; attempt++) {
    const started = performance.now();
    const current = startAttempt(engine, resolved, options);
    try {
      const result = await run(current.context);
      report(engine, resolved, options, attempt, started);
      return result;
    } catch (raw) {
      const error = current.classify(raw);
      report(engine, resolved, options, attempt, started, error);
      const delay = attempt < maxRetries ? retryDelay(error, attempt) : undefined;
      if (delay === undefined) throw error;
      await sleep(delay, options.signal);
    } finally {
      current.done();
    }
  }
}

function report(
  engine: Engine,
  resolved: ResolvedCredential,
  options: CallOptions,
  attempt: number,
  started: number,
  error?: unknown,
): void {
  const onAttempt = options.onAttempt;
  if (!onAttempt) return;
  const info: AttemptInfo = {
    attempt,
    provider: engine.provider,
    model: engine.model,
    keySource: resolved.source,
    durationMs: performance.now() - started,
  };
  if (isKeyholdError(error)) info.error = error;
  onAttempt(info);
}

/**
 * The adapter's request: the input with the engine's model. Model first, then the input, then the
 * model again — not `{ ...input, model }`, which on Node 20 gets a hidden class per request
 * (packages/gateway/test/hot-path-literals.test.ts).
 */
function requestFor(engine: Engine, input: ChatInput): ChatInput & { model: string } {
  const request = { model: engine.model, ...input };
  request.model = engine.model;
  return request;
}

/**
 * Generates a chat completion.
 *
 * @example
 * const { content } = await generate(engine, { messages: [{ role: 'user', content: 'Hello' }] }, { apiKey });
 */
export function generate(engine: Engine, input: ChatInput, options: CallOptions = {}): Promise<ChatResult> {
  try {
    const { adapter } = state(engine);
    const request = requestFor(engine, input);
    return afterPrepare(prepare(engine, 'chat', options), (resolved) =>
      withRetries(engine, resolved, options, (context) => adapter.generate(request, context)),
    );
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Continues with the credential without an extra microtask when it resolved synchronously. */
function afterPrepare<T>(
  resolved: ResolvedCredential | Promise<ResolvedCredential>,
  then: (resolved: ResolvedCredential) => Promise<T>,
): Promise<T> {
  return resolved instanceof Promise ? resolved.then(then) : then(resolved);
}

/**
 * Streams a chat completion as neutral events. The key is resolved before the first network call;
 * aborting `signal` (or leaving the loop early) cancels the upstream request.
 *
 * @example
 * for await (const event of stream(engine, { messages }, { apiKey, signal })) {
 *   if (event.type === 'text-delta') process.stdout.write(event.delta);
 * }
 */
export function stream(engine: Engine, input: ChatInput, options: CallOptions = {}): ChatStream {
  return new EngineStream(engine, input, options);
}

/**
 * What `stream` returns: an async iterator of events, which can also be read in batches — the
 * events that arrived together in one body chunk. A consumer that forwards events somewhere (a
 * gateway writing to a socket) saves a promise and a microtask per event that way. Use one style
 * per stream.
 */
export interface ChatStream extends AsyncIterableIterator<StreamEvent> {
  batches(): AsyncIterableIterator<readonly StreamEvent[]>;
}

const NO_EVENTS: readonly StreamEvent[] = [];
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A hand-written iterator rather than an async generator: events come from the adapter in batches
 * (see `EventBatches`) and `next()` serves them from the current batch with an already-resolved
 * promise, so a streamed call costs one promise per body chunk rather than several per event.
 * Retries happen only before the first event.
 */
class EngineStream implements ChatStream {
  readonly #engine: Engine;
  readonly #input: ChatInput;
  readonly #options: CallOptions;
  #phase: 'idle' | 'open' | 'done' = 'idle';
  #source: AsyncIterator<readonly StreamEvent[]> | undefined;
  #inner: AsyncIterator<StreamEvent> | undefined;
  #buffer: readonly StreamEvent[] = NO_EVENTS;
  #index = 0;
  #attempt: Attempt | undefined;
  #resolved: ResolvedCredential | undefined;
  #attemptNumber = 0;
  #started = 0;

  constructor(engine: Engine, input: ChatInput, options: CallOptions) {
    this.#engine = engine;
    this.#input = input;
    this.#options = options;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamEvent>> {
    if (this.#index < this.#buffer.length) {
      return Promise.resolve({ done: false, value: this.#buffer[this.#index++]! });
    }
    return this.#pull().then((result) => {
      if (result.done) return result;
      if (result.value.length === 0) return this.next();
      this.#buffer = result.value;
      this.#index = 1;
      return { done: false, value: result.value[0]! };
    });
  }

  batches(): AsyncIterableIterator<readonly StreamEvent[]> {
    const iterator: AsyncIterableIterator<readonly StreamEvent[]> = {
      [Symbol.asyncIterator]: () => iterator,
      next: () => {
        if (this.#index < this.#buffer.length) {
          const rest = this.#buffer.slice(this.#index);
          this.#index = this.#buffer.length;
          return Promise.resolve({ done: false, value: rest });
        }
        return this.#pull();
      },
      return: () => this.return() as Promise<IteratorResult<readonly StreamEvent[]>>,
    };
    return iterator;
  }

  async return(): Promise<IteratorResult<StreamEvent>> {
    if (this.#phase !== 'done') {
      this.#phase = 'done';
      try {
        await (this.#source ?? this.#inner)?.return?.();
      } finally {
        this.#attempt?.done();
      }
    }
    return DONE;
  }

  /** The next batch of events from the adapter (a one-event batch for adapters that stream singly). */
  #pull(): Promise<IteratorResult<readonly StreamEvent[]>> {
    if (this.#phase === 'idle') {
      this.#phase = 'open';
      return this.#open();
    }
    if (this.#phase === 'done') return Promise.resolve(DONE);
    return this.#read().then(
      (result) => {
        if (result.done) this.#finish();
        return result;
      },
      (error) => {
        throw this.#fail(error);
      },
    );
  }

  #read(): Promise<IteratorResult<readonly StreamEvent[]>> {
    if (this.#source) return this.#source.next();
    return this.#inner!.next().then((result) =>
      result.done ? result : { done: false, value: [result.value] },
    );
  }

  async #open(): Promise<IteratorResult<readonly StreamEvent[]>> {
    const engine = this.#engine;
    const options = this.#options;
    try {
      const resolved = prepare(engine, 'chat', options);
      this.#resolved = resolved instanceof Promise ? await resolved : resolved;
    } catch (error) {
      this.#phase = 'done';
      throw error;
    }
    const { adapter } = state(engine);
    const maxRetries = options.maxRetries ?? engine.options.maxRetries ?? 2;
    for (;;) {
      this.#started = performance.now();
      this.#attempt = startAttempt(engine, this.#resolved, options);
      try {
        const events = adapter.stream(requestFor(engine, this.#input), this.#attempt.context);
        this.#source = batchesOf(events);
        this.#inner = this.#source ? undefined : events[Symbol.asyncIterator]();
        const first = await this.#read();
        if (first.done) this.#finish();
        return first;
      } catch (raw) {
        const error = this.#attempt.classify(raw);
        report(engine, this.#resolved, options, this.#attemptNumber, this.#started, error);
        this.#attempt.done();
        const delay = this.#attemptNumber < maxRetries ? retryDelay(error, this.#attemptNumber) : undefined;
        if (delay === undefined) {
          this.#phase = 'done';
          throw error;
        }
        this.#attemptNumber++;
        await sleep(delay, options.signal).catch((e) => {
          this.#phase = 'done';
          throw e;
        });
      }
    }
  }

  #finish(): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    this.#attempt?.done();
    report(this.#engine, this.#resolved!, this.#options, this.#attemptNumber, this.#started);
  }

  /** A failure after events have reached the caller: never retried, since a retry would repeat them. */
  #fail(raw: unknown): unknown {
    const error = this.#attempt ? this.#attempt.classify(raw) : raw;
    if (this.#phase !== 'done') {
      this.#phase = 'done';
      this.#attempt?.done();
      report(this.#engine, this.#resolved!, this.#options, this.#attemptNumber, this.#started, error);
    }
    return error;
  }
}

/**
 * Embeds one or more texts.
 *
 * @example
 * const { embeddings } = await embed(engine, { input: ['a', 'b'] }, { apiKey });
 */
export async function embed(
  engine: Engine,
  input: EmbedInput,
  options: CallOptions = {},
): Promise<EmbedResult> {
  const prepared = prepare(engine, 'embedding', options);
  const resolved = prepared instanceof Promise ? await prepared : prepared;
  const { adapter } = state(engine);
  if (!adapter.embed) {
    throw new InvalidRequestError(`Provider "${engine.provider}" does not support embeddings`, {
      provider: engine.provider,
    });
  }
  const texts = Array.isArray(input.input) ? input.input : [input.input];
  const embedFn = adapter.embed.bind(adapter);
  return withRetries(engine, resolved, options, (context) =>
    embedFn(
      {
        model: engine.model,
        input: texts,
        ...(input.dimensions !== undefined ? { dimensions: input.dimensions } : {}),
        ...(input.user !== undefined ? { user: input.user } : {}),
      },
      context,
    ),
  );
}
