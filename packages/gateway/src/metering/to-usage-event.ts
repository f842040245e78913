import type { KeyholdError, Operation, Usage } from '@keyhold/core';
import type { KeySource } from '../routing/resolve-provider-key.js';
import type { Cost } from './price-table.js';
import type { UsageEvent } from './usage-sink.js';

/** Who made a call and how it was routed: the part of a usage event shared by its attempts. */
export interface UsageContext {
  requestId: string;
  tenantId: string;
  userId?: string;
  virtualKeyId: string;
  credentialId?: string;
  keySource: KeySource;
  provider: string;
  model: string;
  operation: Operation;
}

/** How one attempt ended. */
export interface AttemptOutcome {
  attempt: number;
  durationMs: number;
  error?: KeyholdError;
}

const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };

/** Builds the usage event of one attempt (pure). */
export function toUsageEvent(
  context: UsageContext,
  outcome: AttemptOutcome,
  usage: Usage | undefined,
  cost: Cost,
  estimated: boolean,
): UsageEvent {
  const u = usage ?? NO_USAGE;
  const error = outcome.error;
  // Assignments rather than conditional spreads: this runs for every upstream attempt.
  const event: UsageEvent = {
    requestId: context.requestId,
    attempt: outcome.attempt,
    tenantId: context.tenantId,
    virtualKeyId: context.virtualKeyId,
    keySource: context.keySource,
    provider: context.provider,
    model: context.model,
    operation: context.operation,
    inputTokens: u.inputTokens,
    outputTokens: u.outputTokens,
    costMicros: cost.micros,
    priced: cost.priced,
    estimated,
    latencyMs: Math.round(outcome.durationMs * 1000) / 1000,
    status: error ? 'error' : 'ok',
    at: Date.now(),
  };
  if (context.userId !== undefined) event.userId = context.userId;
  if (context.credentialId !== undefined) event.credentialId = context.credentialId;
  if (u.cachedInputTokens !== undefined) event.cachedInputTokens = u.cachedInputTokens;
  if (u.cacheWriteInputTokens !== undefined) event.cacheWriteInputTokens = u.cacheWriteInputTokens;
  if (u.reasoningTokens !== undefined) event.reasoningTokens = u.reasoningTokens;
  if (error) {
    event.errorClass = error.code;
    if (error.upstreamStatus !== undefined) event.upstreamStatus = error.upstreamStatus;
  }
  return event;
}
