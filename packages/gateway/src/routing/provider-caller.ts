import {
  AbortedError,
  type AbortSignalLike,
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
  isKeyholdError,
  type Operation,
  type ProviderAdapter,
  Secret,
  type StreamEvent,
  stream,
  type Transport,
  toCredential,
  type Usage,
} from '@keyhold/core';
import type { Caller } from '../auth/authenticate.js';
import { type Outcome, type Problem, problem } from '../http/problem.js';
import type { Admission, RequestGuard } from '../limits/request-guard.js';
import { countChatInputTokens, countTextTokens } from '../metering/count-tokens.js';
import { estimateChatInputTokens, estimateEmbedInputTokens } from '../metering/estimate-tokens.js';
import type { PriceTable } from '../metering/price-table.js';
import { type AttemptOutcome, toUsageEvent, type UsageContext } from '../metering/to-usage-event.js';
import type { UsageSink } from '../metering/usage-sink.js';
import { type Awaitable, type Directory, whenReady } from './directory.js';
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
  prices: PriceTable;
  /** Rate limits and budgets around every upstream call. */
  guard: RequestGuard;
  /**
   * Output tokens reserved (rate limit and worst-case budget cost) for a chat request that sets
   * no max tokens. Default {@link DEFAULT_MAX_OUTPUT_TOKENS}.
   */
  defaultMaxOutputTokens?: number;
  /** Metering that failed after a response went out (token counting); for the log. */
  onError?: (error: unknown) => void;
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

/** A prepared call that passed the rate limits and budgets: its holds travel with it. */
export interface AdmittedCall extends PreparedCall {
  admission: Admission;
}

/**
 * Output tokens reserved for a chat request without max tokens. The price catalogue does not say
 * how much a model may write, so this is a gateway-wide cap on the reservation, not on the call: a
 * call that writes more is charged in full when it settles, and concurrent such calls can overshoot
 * a hard budget by the excess. Tenants who need a strict bound set `caps.maxTokens`.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export interface ProviderCaller {
  /** True when the provider has an adapter (registered, or given in `adapters`). */
  isAvailable(provider: string): boolean;
  /**
   * Resolves the model, applies the tenant's allow-list and key chain, and opens the credential.
   * Refuses with 503 `usage_ledger_unavailable` while the usage sink is not accepting.
   */
  prepare(input: {
    requestId: string;
    caller: Caller;
    model: string | undefined;
    operation: Operation;
    /** The `X-Provider-API-Key` header value, if sent. */
    headerKey: string | undefined;
  }): Awaitable<Outcome<PreparedCall>>;
  /**
   * Rate limits and budgets for the call, from a cheap estimate of its prompt (characters / 4,
   * see `estimate-tokens.ts`) and its output allowance (max tokens, else the default cap).
   * A refusal is a problem to send as is (429 or 503, with its headers).
   */
  admit(call: PreparedCall, input: ChatInput | EmbedInput): Awaitable<Outcome<AdmittedCall>>;
  generate(
    call: AdmittedCall,
    input: ChatInput,
    signal: AbortSignalLike,
    timing: RequestTiming,
  ): Promise<ChatResult>;
  /**
   * The call's events in batches: those that arrived together in one upstream body chunk. A batch
   * that must wait for its usage event to be durable (the one holding `finish`) calls `hold` first
   * and the function it returned once the wait is over: the caller can keep what it already
   * wrote in this turn from leaving alone (`Exchange.holdOutput`).
   */
  stream(
    call: AdmittedCall,
    input: ChatInput,
    signal: AbortSignalLike,
    timing: RequestTiming,
    hold?: () => () => void,
  ): AsyncIterable<readonly StreamEvent[]>;
  embed(
    call: AdmittedCall,
    input: EmbedInput,
    signal: AbortSignalLike,
    timing: RequestTiming,
  ): Promise<EmbedResult>;
  /** Resolves once metering started for finished calls (token counting, settlements) is done. */
  drain(): Promise<void>;
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
        // once: per route, then cached in `engines`.
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
    signal: AbortSignalLike,
    onAttempt: (a: AttemptInfo) => void,
  ): CallOptions {
    // The opened credential itself: core takes a Credential as key material as it is.
    const forCall: CallOptions = { apiKey: call.credential, signal, onAttempt };
    if (options.transport) forCall.transport = options.transport;
    return forCall;
  }

  const onError = options.onError ?? (() => {});
  /**
   * What a response waits for before its last bytes go out: the events recorded for it made
   * durable by the sink (the ledger's journal write of this event-loop turn).
   */
  const durable = (): Promise<void> | undefined => options.usage.durable?.();
  const defaultMaxOutput = options.defaultMaxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  const pending = new Set<Promise<unknown>>();

  function record(
    context: UsageContext,
    outcome: AttemptOutcome,
    usage: Usage | undefined,
    estimated: boolean,
  ) {
    const cost = options.prices.costOf(context.provider, context.model, usage ?? ZERO_USAGE);
    try {
      options.usage.record(toUsageEvent(context, outcome, usage, cost, estimated));
    } catch (error) {
      // Metering must never fail a request.
      onError(error);
    }
    return cost.micros;
  }

  /**
   * Meters a non-streamed call: failed attempts are recorded as they happen (nothing consumed),
   * the successful one with its usage and cost, which also settle the call's holds; a call that
   * failed on every attempt releases them.
   */
  function meter(call: AdmittedCall) {
    const context = usageContext(call);
    let success: AttemptOutcome | undefined;
    return {
      onAttempt(attempt: AttemptInfo) {
        if (attempt.error) record(context, attempt, undefined, false);
        else success = attempt;
      },
      succeeded(usage: Usage) {
        const micros = record(context, success ?? { attempt: 0, durationMs: 0 }, usage, false);
        call.admission.settle(usage.inputTokens + usage.outputTokens, micros);
      },
      failed() {
        call.admission.release();
      },
    };
  }

  /**
   * A non-streamed call (chat or embeddings), metered: upstream time counted, attempts recorded,
   * the holds settled or released, and the answer or the failure handed on only once the events
   * recorded for it are durable.
   */
  async function callMetered<T>(
    call: AdmittedCall,
    timing: RequestTiming,
    run: (onAttempt: (attempt: AttemptInfo) => void) => Promise<T>,
    usageOf: (result: T) => Usage,
  ): Promise<T> {
    const metering = meter(call);
    const started = performance.now();
    let result: T;
    try {
      result = await run(metering.onAttempt);
    } catch (error) {
      metering.failed();
      timing.upstreamMs += performance.now() - started;
      await durable();
      throw error;
    }
    timing.upstreamMs += performance.now() - started;
    metering.succeeded(usageOf(result));
    const recorded = durable();
    if (recorded) await recorded;
    return result;
  }

  function track(work: Promise<unknown>): Promise<void> {
    const p: Promise<void> = work.then(
      () => undefined,
      (error: unknown) => onError(error),
    );
    pending.add(p);
    p.finally(() => pending.delete(p));
    return p;
  }

  /**
   * Meters a streamed call. Attempts that fail before the first event (retried by the engine)
   * consumed nothing and are recorded at once. The attempt that streamed is recorded once: at its
   * `finish` event — before that event is handed on, so a response's terminal frames (`finish`'s,
   * `[DONE]`) always leave after the usage event was recorded — or, for a stream that never
   * finished, when it ends, however it ends. Usage is the provider's final usage when it sent one;
   * otherwise (client abort, upstream cut, a provider without stream usage) the prompt and the
   * output received so far counted by the tokenizer, marked `estimated`. Counting happens once,
   * never per chunk; a stream that finished or failed waits for it (the returned promise), one the
   * client left does not.
   */
  function streamMeter(call: AdmittedCall, input: ChatInput) {
    const context = usageContext(call);
    let streaming = false;
    let settled = false;
    let failures = 0;
    let attemptStarted = performance.now();
    let final: AttemptOutcome | undefined;
    let usage: Usage | undefined;
    const output: string[] = [];

    const settle = (outcome: AttemptOutcome, wait: boolean): Promise<void> | undefined => {
      settled = true;
      if (usage) {
        const micros = record(context, outcome, usage, false);
        call.admission.settle(usage.inputTokens + usage.outputTokens, micros);
        return wait ? durable() : undefined;
      }
      const counting = track(
        (async () => {
          const [inputTokens, outputTokens] = await Promise.all([
            countChatInputTokens(input),
            countTextTokens(output.join('')),
          ]);
          const counted = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
          const micros = record(context, outcome, counted, true);
          call.admission.settle(counted.totalTokens, micros);
          await durable();
        })(),
      );
      return wait ? counting : undefined;
    };

    return {
      onAttempt(attempt: AttemptInfo) {
        if (!streaming && attempt.error) {
          record(context, attempt, undefined, false);
          failures++;
          attemptStarted = performance.now();
        } else final = attempt;
      },
      /** Returns the recording to wait for before `finish` is handed on (only for `finish`). */
      event(event: StreamEvent): Promise<void> | undefined {
        streaming = true;
        switch (event.type) {
          case 'text-delta':
          case 'reasoning-delta':
            output.push(event.delta);
            break;
          case 'tool-call-delta':
            if (event.name) output.push(event.name);
            output.push(event.argumentsDelta);
            break;
          case 'usage':
            usage = event.usage;
            break;
          case 'finish':
            if (settled) break;
            // The engine reports the attempt when the body has ended, which may be later.
            return settle(
              final ?? { attempt: failures, durationMs: performance.now() - attemptStarted },
              true,
            );
        }
        return undefined;
      },
      /**
       * The stream is over; `error` is what the consumer saw, if anything, and `left` whether the
       * consumer stopped reading before the end (the client went away).
       */
      end(error: unknown, left: boolean): Promise<void> | undefined {
        if (settled) return undefined;
        if (!streaming && !final) {
          call.admission.release();
          // Attempts that failed before the first event were recorded: the error response waits.
          return left ? undefined : durable();
        }
        // No final report from the engine: the consumer stopped reading (the client went away).
        const outcome: AttemptOutcome = final ?? {
          attempt: failures,
          durationMs: performance.now() - attemptStarted,
          error: isKeyholdError(error) ? error : CLIENT_ABORT,
        };
        return settle(outcome, !left);
      },
    };
  }

  return {
    isAvailable,

    prepare(input) {
      // No work the ledger cannot record: refused before a key is opened or a budget touched.
      if (options.usage.accepting?.() === false) return { ok: false, problem: LEDGER_UNAVAILABLE };
      const tenant = input.caller.tenant;
      const routed = resolveModel(input.model, tenant, options.catalogue, input.operation, isAvailable);
      if (!routed.ok) return routed;
      const route = routed.value;
      const chosen = resolveProviderKey({
        directory: options.directory,
        caller: input.caller,
        provider: route.provider,
        operation: input.operation,
        hasHeaderKey: input.headerKey !== undefined,
      });
      // Warm caches answer at once: no microtask between the request and the decryption.
      return whenReady(chosen, (choice): Awaitable<Outcome<PreparedCall>> => {
        if (!choice.ok) return choice;
        return whenReady(
          openChoice(options.directory, choice.value, route.provider, input.headerKey),
          (credential) => {
            const prepared: PreparedCall = {
              requestId: input.requestId,
              caller: input.caller,
              route,
              operation: input.operation,
              keySource: choice.value.source,
              credential,
            };
            if (choice.value.source !== 'header') prepared.credentialId = choice.value.credentialId;
            return { ok: true, value: prepared };
          },
        );
      });
    },

    admit(call, input) {
      const chat = call.operation === 'chat';
      const admitted = options.guard.admit({
        caller: call.caller,
        provider: call.route.provider,
        model: call.route.model,
        inputTokens: chat
          ? estimateChatInputTokens(input as ChatInput)
          : estimateEmbedInputTokens(input as EmbedInput),
        maxOutputTokens: chat ? ((input as ChatInput).maxTokens ?? defaultMaxOutput) : 0,
      });
      return whenReady(admitted, (outcome): Outcome<AdmittedCall> => {
        if (!outcome.ok) return outcome;
        // Not `{ ...call, admission }` (test/hot-path-literals.test.ts).
        const value: AdmittedCall = { admission: outcome.value, ...call };
        value.admission = outcome.value;
        return { ok: true, value };
      });
    },

    generate(call, input, signal, timing) {
      return callMetered(
        call,
        timing,
        (onAttempt) => generate(engineFor(call.route), input, callOptions(call, signal, onAttempt)),
        (result) => result.usage,
      );
    },

    stream(call, input, signal, timing, hold) {
      const metering = streamMeter(call, input);
      const events = stream(engineFor(call.route), input, callOptions(call, signal, metering.onAttempt));
      return meteredBatches(events.batches(), metering, timing, hold);
    },

    embed(call, input, signal, timing) {
      return callMetered(
        call,
        timing,
        (onAttempt) => embed(engineFor(call.route), input, callOptions(call, signal, onAttempt)),
        ({ usage }) => ({ inputTokens: usage.inputTokens, outputTokens: 0, totalTokens: usage.inputTokens }),
      );
    },

    async drain() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await options.guard.drain();
    },
  };
}

const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };

/** The refusal while usage cannot be recorded (see `UsageSink.accepting`). */
// once: module setup.
const LEDGER_UNAVAILABLE: Problem = {
  ...problem(503, 'usage_ledger_unavailable', 'Usage cannot be recorded right now; try again shortly'),
  retryAfterSeconds: 1,
};

interface StreamMetering {
  event(event: StreamEvent): Promise<void> | undefined;
  end(failure: unknown, left: boolean): Promise<void> | undefined;
}

/**
 * Wraps the engine's stream, read in batches (the events of one upstream body chunk), with
 * metering and upstream timing. A hand-written iterator, not an async generator: a batch costs one
 * `then`, however many events it holds. `end` runs exactly once, on completion, failure or an
 * early `return()` (the client went away). The batch that holds `finish`, the final `done` and a
 * failure settle only after the attempt's usage event was recorded, so whoever writes the
 * response's terminal frames after them (`streamResponse`) writes them after the event.
 */
function meteredBatches(
  inner: AsyncIterator<readonly StreamEvent[]>,
  metering: StreamMetering,
  timing: { upstreamMs: number },
  hold: (() => () => void) | undefined,
): AsyncIterableIterator<readonly StreamEvent[]> {
  let ended = false;
  const end = (failure: unknown, left: boolean): Promise<void> | undefined => {
    if (ended) return undefined;
    ended = true;
    return metering.end(failure, left);
  };
  /** `result` once `recorded` resolved, with the consumer's output held meanwhile. */
  const after = <T>(recorded: Promise<void>, result: T): Promise<T> => {
    const release = hold?.();
    return recorded.then(() => {
      release?.();
      return result;
    });
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (ended) return Promise.resolve({ done: true, value: undefined });
      const started = performance.now();
      return inner.next().then(
        (result) => {
          timing.upstreamMs += performance.now() - started;
          if (!result.done) {
            let recorded: Promise<void> | undefined;
            for (const event of result.value) recorded = metering.event(event) ?? recorded;
            return recorded ? after(recorded, result) : result;
          }
          const recorded = end(undefined, false);
          return recorded ? after(recorded, result) : result;
        },
        (error: unknown) => {
          timing.upstreamMs += performance.now() - started;
          const recorded = end(error, false);
          if (!recorded) throw error;
          return after(recorded, undefined).then(() => {
            throw error;
          });
        },
      );
    },
    async return() {
      try {
        await inner.return?.(undefined);
      } finally {
        end(undefined, true);
      }
      return { done: true, value: undefined };
    },
  };
}

/** What a stream that the client left is recorded as failing with. */
const CLIENT_ABORT = new AbortedError('The client closed the stream');

function usageContext(call: PreparedCall): UsageContext {
  const context: UsageContext = {
    requestId: call.requestId,
    tenantId: call.caller.tenant.id,
    virtualKeyId: call.caller.virtualKeyId,
    keySource: call.keySource,
    provider: call.route.provider,
    model: call.route.model,
    operation: call.operation,
  };
  if (call.caller.user) context.userId = call.caller.user.id;
  if (call.credentialId) context.credentialId = call.credentialId;
  return context;
}

function openChoice(
  directory: Directory,
  choice: KeyChoice,
  provider: string,
  headerKey: string | undefined,
): Awaitable<Credential> {
  if (choice.source === 'header') return toCredential(provider, Secret.from(headerKey ?? ''));
  return directory.open(choice.ref);
}

function hasRegisteredAdapter(provider: string): boolean {
  try {
    adapterFor(provider);
    return true;
  } catch {
    return false;
  }
}
