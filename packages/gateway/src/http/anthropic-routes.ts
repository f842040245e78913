import type { FastifyInstance, FastifyReply } from 'fastify';
import { applyTenantPolicy } from '../routing/apply-tenant-policy.js';
import { rejectUpstreamOverrides } from '../routing/reject-upstream-overrides.js';
import { createAnthropicEventEncoder } from '../surfaces/anthropic/anthropic-event-encoder.js';
import { parseAnthropicMessagesRequest } from '../surfaces/anthropic/parse-messages-request.js';
import { toAnthropicMessage } from '../surfaces/anthropic/to-anthropic-message.js';
import { abortOnClose, authenticateRequest, headerKeyOf } from './gateway-request.js';
import { type Problem, problem, problemFromError } from './problem.js';
import { responseIdOf } from './request-id.js';
import type { RouteDeps } from './route-deps.js';
import { streamResponse } from './stream-response.js';
import { sendProblem } from './surface.js';

const refuse = (reply: FastifyReply, p: Problem) => sendProblem(reply, 'anthropic', p);

/**
 * The Anthropic-compatible API: `POST /v1/messages`, to any provider. Virtual keys come as
 * `x-api-key` (what Anthropic's SDKs send) or `Authorization: Bearer`.
 */
export function registerAnthropicRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post('/v1/messages', async (request, reply) => {
    // Warm caches answer at once: a step is awaited only when it returned a promise.
    const authenticated = authenticateRequest(request, deps.directory, true);
    const auth = authenticated instanceof Promise ? await authenticated : authenticated;
    if (!auth.ok) return refuse(reply, auth.problem);
    const caller = auth.value;
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return refuse(reply, problem(400, 'invalid_body', 'The request body must be a JSON object'));
    }
    const override = rejectUpstreamOverrides(body as Record<string, unknown>);
    if (override) return refuse(reply, override);
    const parsed = parseAnthropicMessagesRequest(body);
    if (!parsed.ok) {
      const message = parsed.param ? `${parsed.param}: ${parsed.message}` : parsed.message;
      return refuse(reply, problem(400, 'invalid_request', message, parsed.param));
    }
    const headerKey = headerKeyOf(request);
    if (!headerKey.ok) return refuse(reply, headerKey.problem);
    const preparing = deps.caller.prepare({
      requestId: request.id,
      caller,
      model: parsed.value.model,
      operation: 'chat',
      headerKey: headerKey.value,
    });
    const prepared = preparing instanceof Promise ? await preparing : preparing;
    if (!prepared.ok) return refuse(reply, prepared.problem);
    reply.header('x-keyhold-key-source', prepared.value.keySource);

    const input = applyTenantPolicy(parsed.value.input, caller.tenant.settings);
    const admission = deps.caller.admit(prepared.value, input);
    const admitted = admission instanceof Promise ? await admission : admission;
    if (!admitted.ok) return refuse(reply, admitted.problem);
    const call = admitted.value;
    reply.headers(call.admission.headers);
    const controller = abortOnClose(reply);
    const ctx = { id: `msg_${responseIdOf(request.id)}`, model: call.route.requested };
    if (!parsed.value.stream) {
      try {
        const result = await deps.caller.generate(call, input, controller.signal, request.timing);
        return reply.send(toAnthropicMessage(result, ctx));
      } catch (error) {
        return refuse(reply, problemFromError(error));
      }
    }
    const encoder = createAnthropicEventEncoder(ctx);
    return streamResponse({
      request,
      reply,
      surface: 'anthropic',
      controller,
      access: deps.access,
      events: deps.caller.stream(call, input, controller.signal, request.timing),
      encoder: {
        encode: (event) => encoder.encode(event),
        end: () => encoder.end(),
        error: (p) => encoder.error(p.status, p.message),
      },
    });
  });
}
