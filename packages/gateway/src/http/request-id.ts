import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The request id: the client's `x-request-id` when it is a sane token (so ids can be correlated
 * across systems), otherwise a fresh `req_…`. Anything else a client sends is not echoed: it
 * would be a log- and header-injection vector.
 */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && SANE.test(given)) return given;
  return `req_${randomBytes(12).toString('hex')}`;
}
