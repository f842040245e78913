import { createHash } from 'node:crypto';
import { isoTime } from '../../clock/iso-time.js';
import { jsonString } from '../../text/json-string.js';
import type { UsageEvent } from '../usage-sink.js';

/**
 * One `usage_events` row as `json_to_recordset` reads it (snake_case keys, see
 * `insert-usage-batch.ts`). Every value is one the table's types and checks accept, so that one
 * odd event can never make a whole batch fail.
 */
export interface UsageRow {
  request_id: string;
  attempt: number;
  tenant_id: string;
  user_id: string | null;
  virtual_key_id: string | null;
  credential_id: string | null;
  key_source: string;
  provider: string;
  model: string;
  operation: string;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  reasoning_tokens: number;
  cost_micros: number;
  priced: boolean;
  estimated: boolean;
  latency_ms: number;
  status: 'ok' | 'error';
  error_class: string | null;
  upstream_status: number | null;
  occurred_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Namespace of the name-based ids below (a fixed random UUID; changing it would split history). */
const LEDGER_NAMESPACE = Buffer.from('6f1d2a4c9e8b4f7a8c3d5e6f7a8b9c0d', 'hex');

/**
 * The ledger's id for a tenant, user, virtual key or credential id. The ledger's id columns are
 * `uuid` (store mode, where every id is one). Ids that are not UUIDs — the names of a config-file
 * deployment, which has no ledger in `keyhold serve` but may have one in a library setup — map to
 * a name-based UUID (version 5 of RFC 9562 under a Keyhold namespace): stable, so the same id
 * always lands on the same rows, and computable by whoever queries (`toLedgerId('acme')`).
 *
 * @example
 * toLedgerId('0b6c…-uuid') // the same UUID, lower case
 * toLedgerId('acme')       // '…-5…' a stable name-based UUID
 */
export function toLedgerId(id: string): string {
  // Every event names the same few tenants, keys and credentials: a lookup instead of a regex
  // test and a lower-casing, three times per event.
  let known = ledgerIds.get(id);
  if (known === undefined) {
    known = computeLedgerId(id);
    if (ledgerIds.size >= MAX_KNOWN_IDS) ledgerIds.clear();
    ledgerIds.set(id, known);
  }
  return known;
}

const ledgerIds = new Map<string, string>();
const MAX_KNOWN_IDS = 10_000;

function computeLedgerId(id: string): string {
  if (UUID.test(id)) return id.toLowerCase();
  const hash = createHash('sha1').update(LEDGER_NAMESPACE).update(id, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Maps an event to its row (pure). Counts are whole and non-negative; latency whole milliseconds. */
export function toUsageRow(event: UsageEvent): UsageRow {
  // Beyond ±8.64e15 ms a Date is invalid and toISOString throws.
  const at = Number.isFinite(event.at) && Math.abs(event.at) <= 8.64e15 ? event.at : Date.now();
  return {
    request_id: event.requestId,
    attempt: clamp(event.attempt, 32_767),
    tenant_id: toLedgerId(event.tenantId),
    user_id: optionalId(event.userId),
    virtual_key_id: optionalId(event.virtualKeyId),
    credential_id: optionalId(event.credentialId),
    key_source: event.keySource,
    provider: event.provider,
    model: event.model,
    operation: event.operation,
    input_tokens: count(event.inputTokens),
    output_tokens: count(event.outputTokens),
    cached_input_tokens: count(event.cachedInputTokens),
    cache_write_input_tokens: count(event.cacheWriteInputTokens),
    reasoning_tokens: count(event.reasoningTokens),
    cost_micros: count(event.costMicros),
    priced: event.priced === true,
    estimated: event.estimated === true,
    latency_ms: clamp(event.latencyMs, 2_147_483_647),
    status: event.status === 'ok' ? 'ok' : 'error',
    error_class: event.errorClass ?? null,
    upstream_status:
      Number.isInteger(event.upstreamStatus) && event.upstreamStatus! >= 100 && event.upstreamStatus! < 1000
        ? event.upstreamStatus!
        : null,
    occurred_at: isoTime(at),
  };
}

/**
 * `JSON.stringify(toUsageRow(event))`, the same text, written by hand: the ledger serialises one
 * row per call, and `JSON.stringify` of the row object (23 keys, each scanned for escapes on every
 * call) was the gateway's single most expensive line per non-streamed request. Keys and key order
 * are {@link UsageRow}'s; strings that could need escaping go through {@link jsonString}.
 */
export function toUsageRowJson(event: UsageEvent): string {
  const at = Number.isFinite(event.at) && Math.abs(event.at) <= 8.64e15 ? event.at : Date.now();
  const status = event.upstreamStatus;
  return (
    `{"request_id":${jsonString(event.requestId)},"attempt":${clamp(event.attempt, 32_767)}` +
    `,"tenant_id":${jsonString(toLedgerId(event.tenantId))},"user_id":${optionalIdJson(event.userId)}` +
    `,"virtual_key_id":${optionalIdJson(event.virtualKeyId)},"credential_id":${optionalIdJson(event.credentialId)}` +
    `,"key_source":${jsonString(event.keySource)},"provider":${jsonString(event.provider)}` +
    `,"model":${jsonString(event.model)},"operation":${jsonString(event.operation)}` +
    `,"input_tokens":${count(event.inputTokens)},"output_tokens":${count(event.outputTokens)}` +
    `,"cached_input_tokens":${count(event.cachedInputTokens)}` +
    `,"cache_write_input_tokens":${count(event.cacheWriteInputTokens)}` +
    `,"reasoning_tokens":${count(event.reasoningTokens)},"cost_micros":${count(event.costMicros)}` +
    `,"priced":${event.priced === true},"estimated":${event.estimated === true}` +
    `,"latency_ms":${clamp(event.latencyMs, 2_147_483_647)},"status":"${event.status === 'ok' ? 'ok' : 'error'}"` +
    `,"error_class":${event.errorClass === undefined || event.errorClass === null ? 'null' : jsonString(event.errorClass)}` +
    `,"upstream_status":${Number.isInteger(status) && status! >= 100 && status! < 1000 ? status : 'null'}` +
    `,"occurred_at":"${isoTime(at)}"}`
  );
}

function optionalIdJson(id: string | undefined): string {
  return id === undefined || id === '' ? 'null' : jsonString(toLedgerId(id));
}

function optionalId(id: string | undefined): string | null {
  return id === undefined || id === '' ? null : toLedgerId(id);
}

function count(n: number | undefined): number {
  return n !== undefined && Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}

function clamp(n: number, max: number): number {
  return Math.min(count(n), max);
}
