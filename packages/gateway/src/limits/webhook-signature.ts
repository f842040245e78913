import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the signature of a Keyhold webhook. */
export const WEBHOOK_SIGNATURE_HEADER = 'keyhold-signature';

/** Signatures older (or newer) than this are refused by default, to stop replays. */
export const DEFAULT_WEBHOOK_TOLERANCE_S = 300;

/**
 * Signs a webhook body the way Stripe does: HMAC-SHA256, keyed by the tenant's webhook secret,
 * over `<timestamp>.<body>`, sent as `keyhold-signature: t=<timestamp>,v1=<hex digest>`. Binding
 * the timestamp into the MAC lets the receiver refuse replays of an old delivery.
 *
 * @param secret the tenant's webhook signing secret
 * @param body the exact bytes sent (the receiver must verify the raw body, not a re-serialisation)
 * @param timestamp Unix time in seconds
 * @example
 * const header = signWebhook(secret, body, Math.floor(Date.now() / 1000));
 * // 't=1764000000,v1=5f0c…'
 */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${digest(secret, body, timestamp)}`;
}

/**
 * Checks a `keyhold-signature` header against the raw body (constant-time comparison) and the
 * timestamp against the clock. What a receiver runs; also used by Keyhold's own tests.
 */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string,
  options: { nowS?: number; toleranceS?: number } = {},
): boolean {
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const name = item.slice(0, eq).trim();
    parts.set(name, [...(parts.get(name) ?? []), item.slice(eq + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isSafeInteger(t)) return false;
  const now = options.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceS ?? DEFAULT_WEBHOOK_TOLERANCE_S)) return false;
  const expected = Buffer.from(digest(secret, body, t), 'hex');
  // Several v1 values are accepted so a secret can be rotated with both signatures sent.
  return (parts.get('v1') ?? []).some((candidate) => {
    const given = Buffer.from(candidate, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function digest(secret: string, body: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}
