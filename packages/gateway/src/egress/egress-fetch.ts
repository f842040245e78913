import { type Dispatcher, fetch as undiciFetch } from 'undici';

/**
 * A `fetch` whose connections go through the given dispatcher — the egress agent, so a request
 * to a tenant-supplied URL (a budget-alert webhook) is checked against the SSRF policy after DNS
 * resolution, like upstream calls. undici's own `fetch`: Node's global one bundles another undici
 * version, which need not accept this package's dispatchers.
 *
 * @example
 * const deliverer = createWebhookDeliverer({ fetch: egressFetch(createEgressAgent({ policy })) });
 */
export function egressFetch(dispatcher: Dispatcher): typeof fetch {
  return ((input: Parameters<typeof undiciFetch>[0], init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(input, { ...init, dispatcher })) as unknown as typeof fetch;
}
