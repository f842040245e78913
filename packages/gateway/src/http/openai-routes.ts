import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../auth/authenticate.js';
import { applyTenantPolicy } from '../routing/apply-tenant-policy.js';
import { type Awaitable, whenReady } from '../routing/directory.js';
import { isModelAllowed } from '../routing/model-catalogue.js';
import type { PreparedCall } from '../routing/provider-caller.js';
import { rejectUpstreamOverrides } from '../routing/reject-upstream-overrides.js';
import { resolveProviderKey } from '../routing/resolve-provider-key.js';
import { createChatChunkEncoder } from '../surfaces/openai/chat-chunk-encoder.js';
import { parseChatRequest } from '../surfaces/openai/parse-chat-request.js';
import { parseEmbeddingsRequest } from '../surfaces/openai/parse-embeddings-request.js';
import { toChatCompletion } from '../surfaces/openai/to-chat-completion.js';
import { toEmbeddingsResponse } from '../surfaces/openai/to-embeddings-response.js';
import { toModelList } from '../surfaces/openai/to-model-list.js';
import { abortOnClose, authenticateRequest, headerKeyOf } from './gateway-request.js';
import { type Problem, problem, problemFromError } from './problem.js';
import { responseIdOf } from './request-id.js';
import type { RouteDeps } from './route-deps.js';
import { streamResponse } from './stream-response.js';
import { sendProblem } from './surface.js';

const refuse = (reply: FastifyReply, p: Problem) => sendProblem(reply, 'openai', p);

/** The OpenAI-compatible API: chat completions, embeddings, model listing. */
export function registerOpenAIRoutes(app: FastifyInstance, deps: RouteDeps): void {
  // The steps below answer at once when the caches are warm; `x instanceof Promise ? await x : x`
  // takes a microtask only for a step that has to wait (a cold cache, a Redis round trip).

  /** Key resolution shared by chat and embeddings; sends the refusal itself. */
  function begin(
    request: FastifyRequest,
    reply: FastifyReply,
    model: string | undefined,
    operation: 'chat' | 'embedding',
    caller: Caller,
  ): Awaitable<PreparedCall | undefined> {
    const headerKey = headerKeyOf(request);
    if (!headerKey.ok) {
      refuse(reply, headerKey.problem);
      return undefined;
    }
    const prepared = deps.caller.prepare({
      requestId: request.id,
      caller,
      model,
      operation,
      headerKey: headerKey.value,
    });
    return whenReady(prepared, (outcome) => {
      if (!outcome.ok) {
        refuse(reply, outcome.problem);
        return undefined;
      }
      reply.header('x-keyhold-key-source', outcome.value.keySource);
      return outcome.value;
    });
  }

  /** Authenticates and checks the body is an object without upstream overrides. */
  function gate(request: FastifyRequest, reply: FastifyReply): Awaitable<Caller | undefined> {
    return whenReady(authenticateRequest(request, deps.directory, false), (auth) => {
      if (!auth.ok) {
        refuse(reply, auth.problem);
        return undefined;
      }
      return checkBody(request, reply) ? auth.value : undefined;
    });
  }

  /** The body is an object and names no upstream override; else the refusal is sent. */
  function checkBody(request: FastifyRequest, reply: FastifyReply): boolean {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      refuse(reply, problem(400, 'invalid_body', 'The request body must be a JSON object'));
      return false;
    }
    const override = rejectUpstreamOverrides(body as Record<string, unknown>);
    if (override) {
      refuse(reply, override);
      return false;
    }
    return true;
  }

  app.post('/v1/chat/completions', async (request, reply) => {
    const gated = gate(request, reply);
    const caller = gated instanceof Promise ? await gated : gated;
    if (!caller) return reply;
    const parsed = parseChatRequest(request.body);
    if (!parsed.ok) return refuse(reply, problem(400, 'invalid_request', parsed.message, parsed.param));
    const begun = begin(request, reply, parsed.value.model, 'chat', caller);
    const prepared = begun instanceof Promise ? await begun : begun;
    if (!prepared) return reply;

    const input = applyTenantPolicy(parsed.value.input, caller.tenant.settings);
    const admission = deps.caller.admit(prepared, input);
    const admitted = admission instanceof Promise ? await admission : admission;
    if (!admitted.ok) return refuse(reply, admitted.problem);
    const call = admitted.value;
    reply.headers(call.admission.headers);
    const controller = abortOnClose(reply);
    const ctx = {
      id: `chatcmpl-${responseIdOf(request.id)}`,
      model: call.route.requested,
      created: Math.floor(Date.now() / 1000),
    };
    if (!parsed.value.stream) {
      try {
        const result = await deps.caller.generate(call, input, controller.signal, request.timing);
        return reply.send(toChatCompletion(result, ctx));
      } catch (error) {
        return refuse(reply, problemFromError(error));
      }
    }
    const encoder = createChatChunkEncoder(ctx, parsed.value.includeUsage);
    return streamResponse({
      request,
      reply,
      surface: 'openai',
      controller,
      access: deps.access,
      events: deps.caller.stream(call, input, controller.signal, request.timing),
      encoder: {
        encode: (event) => encoder.encode(event),
        end: () => encoder.end(),
        error: (p) => encoder.error(p.status, p.code, p.message),
      },
    });
  });

  app.post('/v1/embeddings', async (request, reply) => {
    const gated = gate(request, reply);
    const caller = gated instanceof Promise ? await gated : gated;
    if (!caller) return reply;
    const parsed = parseEmbeddingsRequest(request.body);
    if (!parsed.ok) return refuse(reply, problem(400, 'invalid_request', parsed.message, parsed.param));
    const begun = begin(request, reply, parsed.value.model, 'embedding', caller);
    const prepared = begun instanceof Promise ? await begun : begun;
    if (!prepared) return reply;
    const admission = deps.caller.admit(prepared, parsed.value.input);
    const admitted = admission instanceof Promise ? await admission : admission;
    if (!admitted.ok) return refuse(reply, admitted.problem);
    const call = admitted.value;
    reply.headers(call.admission.headers);
    const controller = abortOnClose(reply);
    try {
      const result = await deps.caller.embed(call, parsed.value.input, controller.signal, request.timing);
      return reply.send(toEmbeddingsResponse(result, call.route.requested, parsed.value.encodingFormat));
    } catch (error) {
      return refuse(reply, problemFromError(error));
    }
  });

  app.get('/v1/models', async (request, reply) => {
    const auth = await authenticateRequest(request, deps.directory, true);
    if (!auth.ok) return refuse(reply, auth.problem);
    const caller = auth.value;
    const usable = new Map<string, boolean>();
    const providerUsable = async (provider: string) => {
      let ok = usable.get(provider);
      if (ok === undefined) {
        const key = await resolveProviderKey({
          directory: deps.directory,
          caller,
          provider,
          operation: 'chat',
          hasHeaderKey: caller.tenant.settings.allowKeyHeader && deps.directory.mode !== 'single',
        });
        ok = deps.caller.isAvailable(provider) && key.ok;
        usable.set(provider, ok);
      }
      return ok;
    };
    const models: { id: string; ownedBy: string }[] = [];
    const seen = new Set<string>();
    const consider = async (name: string, target: string) => {
      const provider = target.slice(0, target.indexOf('/'));
      if (seen.has(name) || provider === '' || !isModelAllowed(caller.tenant, target, name)) return;
      if (!(await providerUsable(provider))) return;
      seen.add(name);
      models.push({ id: name, ownedBy: provider });
    };
    for (const [alias, target] of Object.entries(deps.catalogue.aliases)) await consider(alias, target);
    for (const id of deps.catalogue.list) await consider(id, id);
    return reply.send(toModelList(models, 1_700_000_000));
  });
}
