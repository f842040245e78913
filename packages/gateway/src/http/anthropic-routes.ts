import { applyTenantPolicy } from '../routing/apply-tenant-policy.js';
import { createAnthropicEventEncoder } from '../surfaces/anthropic/anthropic-event-encoder.js';
import { parseAnthropicMessagesRequest } from '../surfaces/anthropic/parse-messages-request.js';
import { toAnthropicMessage } from '../surfaces/anthropic/to-anthropic-message.js';
import type { ApiRoute } from './api-router.js';
import type { Exchange } from './exchange.js';
import { abortOnClose, authenticateRequest, headerKeyOf, objectBodyOf } from './gateway-request.js';
import { problem, problemFromError } from './problem.js';
import { responseIdOf } from './request-id.js';
import type { RouteDeps } from './route-deps.js';
import { streamResponse } from './stream-response.js';

/**
 * The Anthropic-compatible API: `POST /v1/messages`, to any provider. Virtual keys come as
 * `x-api-key` (what Anthropic's SDKs send) or `Authorization: Bearer`.
 */
export function anthropicRoutes(deps: RouteDeps): ApiRoute[] {
  async function messages(exchange: Exchange): Promise<void> {
    // Warm caches answer at once: a step is awaited only when it returned a promise.
    const authenticated = authenticateRequest(exchange.headers, deps.directory, true);
    const auth = authenticated instanceof Promise ? await authenticated : authenticated;
    if (!auth.ok) return exchange.refuse(auth.problem);
    const caller = auth.value;
    const body = objectBodyOf(exchange);
    if (!body) return;
    const parsed = parseAnthropicMessagesRequest(body);
    if (!parsed.ok) {
      const message = parsed.param ? `${parsed.param}: ${parsed.message}` : parsed.message;
      return exchange.refuse(problem(400, 'invalid_request', message, parsed.param));
    }
    const headerKey = headerKeyOf(exchange.headers);
    if (!headerKey.ok) return exchange.refuse(headerKey.problem);
    const preparing = deps.caller.prepare({
      requestId: exchange.id,
      caller,
      model: parsed.value.model,
      operation: 'chat',
      headerKey: headerKey.value,
    });
    const prepared = preparing instanceof Promise ? await preparing : preparing;
    if (!prepared.ok) return exchange.refuse(prepared.problem);
    exchange.header('x-keyhold-key-source', prepared.value.keySource);

    const input = applyTenantPolicy(parsed.value.input, caller.tenant.settings);
    const admission = deps.caller.admit(prepared.value, input);
    const admitted = admission instanceof Promise ? await admission : admission;
    if (!admitted.ok) return exchange.refuse(admitted.problem);
    const call = admitted.value;
    exchange.setHeaders(call.admission.headers);
    const controller = abortOnClose(exchange.res);
    const ctx = { id: `msg_${responseIdOf(exchange.id)}`, model: call.route.requested };
    if (!parsed.value.stream) {
      try {
        const result = await deps.caller.generate(call, input, controller.signal, exchange.timing);
        return exchange.send(200, toAnthropicMessage(result, ctx));
      } catch (error) {
        return exchange.refuse(problemFromError(error));
      }
    }
    const encoder = createAnthropicEventEncoder(ctx);
    return streamResponse({
      exchange,
      controller,
      events: deps.caller.stream(call, input, controller.signal, exchange.timing, () =>
        exchange.holdOutput(),
      ),
      encoder: {
        encode: (event) => encoder.encode(event),
        end: () => encoder.end(),
        error: (p) => encoder.error(p.status, p.message),
      },
    });
  }

  return [{ method: 'POST', path: '/v1/messages', surface: 'anthropic', handle: messages }];
}
