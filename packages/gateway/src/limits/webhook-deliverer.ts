import { randomUUID } from 'node:crypto';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from './webhook-signature.js';

export interface WebhookDelivery {
  /** The tenant's endpoint. The caller checks it against the operator's allow-list (SSRF). */
  url: string;
  secret: string;
  /** Event type, e.g. `budget.threshold`. */
  type: string;
  data: unknown;
  /** Stable id, the same on every retry so the receiver can de-duplicate. Default: a UUID. */
  id?: string;
}

export interface WebhookResult {
  delivered: boolean;
  attempts: number;
  /** HTTP status of the last attempt, when one came back. */
  status?: number;
}

export interface WebhookDelivererOptions {
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Attempts in all, first included. Default 5. */
  maxAttempts?: number;
  /** Delay before the first retry, doubled each time (with ±20 % jitter). Default 1 000 ms. */
  baseDelayMs?: number;
  /** Per-attempt timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /** Clock in milliseconds (signature timestamps). Default `Date.now`. */
  now?: () => number;
}

export interface WebhookDeliverer {
  deliver(delivery: WebhookDelivery): Promise<WebhookResult>;
}

/**
 * Delivers signed webhooks with retries. The body is `{ id, type, created, data }`; headers carry
 * `keyhold-signature` (see {@link signWebhook}), `keyhold-webhook-id` and `content-type`.
 * A 2xx is success; 408, 429, 5xx, timeouts and network errors are retried; any other status is
 * final. Redirects are not followed (a redirect could point anywhere, defeating the allow-list).
 *
 * @example
 * const webhooks = createWebhookDeliverer();
 * const budgets = createMemoryBudgets({
 *   onAlert: (alert) => webhooks.deliver({ url, secret, type: 'budget.threshold', data: alert }),
 * });
 */
export function createWebhookDeliverer(options: WebhookDelivererOptions = {}): WebhookDeliverer {
  const doFetch = options.fetch ?? globalThis.fetch;
  const maxAttempts = options.maxAttempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;

  return {
    async deliver(delivery) {
      const id = delivery.id ?? randomUUID();
      const body = JSON.stringify({
        id,
        type: delivery.type,
        created: new Date(now()).toISOString(),
        data: delivery.data,
      });
      let status: number | undefined;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        // Signed per attempt so a late retry still falls inside the receiver's tolerance window.
        const signature = signWebhook(delivery.secret, body, Math.floor(now() / 1000));
        let retryable = true;
        try {
          const response = await doFetch(delivery.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'keyhold-webhook-id': id,
              [WEBHOOK_SIGNATURE_HEADER]: signature,
            },
            body,
            redirect: 'manual',
            signal: AbortSignal.timeout(timeoutMs),
          });
          status = response.status;
          await response.body?.cancel().catch(() => {});
          if (status >= 200 && status < 300) return { delivered: true, attempts: attempt, status };
          retryable = status === 408 || status === 429 || status >= 500;
        } catch {
          status = undefined;
        }
        if (!retryable || attempt === maxAttempts)
          return { delivered: false, attempts: attempt, ...(status !== undefined ? { status } : {}) };
        const delay = baseDelayMs * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      return { delivered: false, attempts: maxAttempts, ...(status !== undefined ? { status } : {}) };
    },
  };
}
