import { randomFillSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

// Random bytes drawn in bulk: one `randomFillSync` per 341 ids instead of a call per request.
const pool = Buffer.alloc(12 * 341);
let offset = pool.length;

/**
 * The request id: always the gateway's own `req_` + 24 random hex digits. It keys the usage
 * ledger (`requestId:attempt` is the idempotency key of a usage event), so a client must not be
 * able to choose it: a repeated client id would make the ledger drop the later requests' usage.
 */
export function requestIdOf(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + 12);
  offset += 12;
  return `req_${id}`;
}

/**
 * The client's own `x-request-id` when it is a sane token, for correlation across systems (echoed
 * as `x-client-request-id` and logged); anything else is dropped, since it would be a log- and
 * header-injection vector.
 */
export function clientRequestIdOf(req: IncomingMessage): string | undefined {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE.test(given) ? given : undefined;
}

/**
 * The random part of a request id, for the response's own id (`chatcmpl-…`, `msg_…`): unique per
 * request without drawing more random bytes, and it ties the response to the gateway's logs.
 */
export function responseIdOf(requestId: string): string {
  return requestId.startsWith('req_') ? requestId.slice(4) : requestId;
}
