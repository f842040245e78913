import type { ErrorCode, Operation } from '@keyhold/core';
import type { KeySource } from '../routing/resolve-provider-key.js';

/**
 * One upstream attempt, as metering sees it: who called, which key paid (by id and chain link,
 * never the key), what was used and how it ended. A retried call produces one event per attempt;
 * `attempt` numbers them from 0 and `requestId` + `attempt` is unique (for idempotent writes).
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
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  latencyMs: number;
  status: 'ok' | 'error';
  /** The typed error's code when the attempt failed. */
  errorClass?: ErrorCode;
  /** The upstream HTTP status when the provider answered with an error. */
  upstreamStatus?: number;
}

/** Receives usage events. Must not throw or block: the gateway calls it on the hot path. */
export interface UsageSink {
  record(event: UsageEvent): void;
}

/** The default until metering (issue 5) lands: drops every event. */
export const noopUsageSink: UsageSink = { record() {} };
