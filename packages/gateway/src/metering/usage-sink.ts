import type { ErrorCode, Operation } from '@keyhold/core';
import type { KeySource } from '../routing/resolve-provider-key.js';

/**
 * One upstream attempt, as metering sees it: who called, which key paid (by id and chain link,
 * never the key), what was used, what it cost and how it ended. A retried call produces one event
 * per attempt, failures included; `attempt` numbers them from 0 and `requestId` + `attempt` (see
 * {@link usageEventKey}) is unique, so a ledger writer can insert idempotently. No prompt text.
 */
export interface UsageEvent {
  requestId: string;
  attempt: number;
  tenantId: string;
  userId?: string;
  virtualKeyId: string;
  /** The stored credential or operator key id; absent for a header key. */
  credentialId?: string;
  keySource: KeySource;
  provider: string;
  model: string;
  operation: Operation;
  /** The whole prompt, cached and cache-write tokens included. */
  inputTokens: number;
  /** Reasoning tokens included. */
  outputTokens: number;
  /** Input tokens read from the provider's prompt cache (part of `inputTokens`). */
  cachedInputTokens?: number;
  /** Input tokens written to the prompt cache (part of `inputTokens`; Anthropic, Bedrock). */
  cacheWriteInputTokens?: number;
  /** Output tokens spent on reasoning (part of `outputTokens`). */
  reasoningTokens?: number;
  /** Cost in integer micro-dollars (1 US$ = 1 000 000), rounded up; 0 when unpriced. */
  costMicros: number;
  /** False when no price is known for the model: the cost is 0 and budgets never block it. */
  priced: boolean;
  /**
   * True when the token counts were counted by Keyhold (a stream that ended without the
   * provider's usage: aborted by the client, cut by the upstream, or a provider that sends none).
   */
  estimated: boolean;
  latencyMs: number;
  status: 'ok' | 'error';
  /** The typed error's code when the attempt failed (`aborted` when the client went away). */
  errorClass?: ErrorCode;
  /** The upstream HTTP status when the provider answered with an error. */
  upstreamStatus?: number;
  /** When the attempt ended (ms since the epoch). */
  at: number;
}

/**
 * Receives usage events: the seam where the durable ledger plugs in (`openUsageLedger`, which
 * journals each event and batches it to PostgreSQL). `record` must not throw or block — the
 * gateway calls it on the hot path, once per upstream attempt, after the attempt ended — and the
 * gateway waits for `durable()` before the response's last bytes go out, so an event the sink
 * makes durable by then is durable for every response a client saw complete. A sink that buffers
 * should flush on `close`, which the gateway awaits when it shuts down.
 */
export interface UsageSink {
  record(event: UsageEvent): void;
  /**
   * Resolves once every event recorded so far is durable (the ledger: in its journal); undefined
   * when they already are, so that the caller need not wait a microtask. Absent = at once.
   */
  durable?(): Promise<void> | undefined;
  /**
   * False while the sink cannot keep its promise (a durable ledger whose journal or database
   * cannot be written): the gateway then refuses new requests with 503 and `/readyz` answers 503,
   * rather than serve unmetered traffic. Called once per request; must be cheap. Absent = always.
   */
  accepting?(): boolean;
  /** Flushes buffered events; awaited by `Gateway.close()` after in-flight requests drained. */
  close?(): Promise<void>;
}

/** The idempotency key of an event: its request id and attempt number. */
export function usageEventKey(event: Pick<UsageEvent, 'requestId' | 'attempt'>): string {
  return `${event.requestId}:${event.attempt}`;
}

/** The default without a ledger: drops every event. */
export const noopUsageSink: UsageSink = { record() {} };

/** A sink that keeps events in memory, de-duplicated by {@link usageEventKey} (tests, demos). */
export interface MemoryUsageSink extends UsageSink {
  readonly events: readonly UsageEvent[];
  /** Resolves once `count` events are held (a stream the client left is metered after it ended). */
  waitFor(count: number, timeoutMs?: number): Promise<readonly UsageEvent[]>;
}

/**
 * An in-memory usage sink: events in arrival order, a second event with the same key ignored.
 *
 * @example
 * const usage = createMemoryUsageSink();
 * const gateway = createGateway({ directory, usage });
 * // … after a call:
 * await usage.waitFor(1);
 * usage.events[0].costMicros;
 */
export function createMemoryUsageSink(): MemoryUsageSink {
  const events: UsageEvent[] = [];
  const keys = new Set<string>();
  const waiters = new Set<() => void>();
  return {
    events,
    record(event) {
      const key = usageEventKey(event);
      if (keys.has(key)) return;
      keys.add(key);
      events.push(event);
      for (const wake of waiters) wake();
    },
    waitFor(count, timeoutMs = 5_000) {
      if (events.length >= count) return Promise.resolve(events);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`Expected ${count} usage events, got ${events.length}`));
        }, timeoutMs);
        const check = () => {
          if (events.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(events);
        };
        waiters.add(check);
      });
    },
  };
}
