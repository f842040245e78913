import type { Caller } from '../auth/authenticate.js';
import { applyTenantPolicy } from '../routing/apply-tenant-policy.js';
import { type Awaitable, whenReady } from '../routing/directory.js';
import { isModelAllowed } from '../routing/model-catalogue.js';
import type { PreparedCall } from '../routing/provider-caller.js';
import { resolveProviderKey } from '../routing/resolve-provider-key.js';
import { createChatChunkEncoder } from '../surfaces/openai/chat-chunk-encoder.js';
import { parseChatRequest } from '../surfaces/openai/parse-chat-request.js';
import { parseEmbeddingsRequest } from '../surfaces/openai/parse-embeddings-request.js';
import { toChatCompletionJson } from '../surfaces/openai/to-chat-completion.js';
import { toEmbeddingsResponse } from '../surfaces/openai/to-embeddings-response.js';
import { toModelList } from '../surfaces/openai/to-model-list.js';
import type { ApiRoute } from './api-router.js';
import type { Exchange } from './exchange.js';
import { abortOnClose, authenticateRequest, headerKeyOf, objectBodyOf } from './gateway-request.js';
import { problem, problemFromError } from './problem.js';
import { responseIdOf } from './request-id.js';
import type { RouteDeps } from './route-deps.js';
import { streamResponse } from './stream-response.js';

/** The OpenAI-compatible API: chat completions, embeddings, model listing. */
export function openAIRoutes(deps: RouteDeps): ApiRoute[] {
  // The steps below answer at once when the caches are warm; `x instanceof Promise ? await x : x`
  // takes a microtask only for a step that has to wait (a cold cache, a Redis round trip).

  /** Key resolution shared by chat and embeddings; sends the refusal itself. */
  function begin(
    exchange: Exchange,
    model: string | undefined,
    operation: 'chat' | 'embedding',
    caller: Caller,
  ): Awaitable<PreparedCall | undefined> {
    const headerKey = headerKeyOf(exchange.headers);
    if (!headerKey.ok) {
      exchange.refuse(headerKey.problem);
      return undefined;
    }
    const prepared = deps.caller.prepare({
      requestId: exchange.id,
      caller,
      model,
      operation,
      headerKey: headerKey.value,
    });
    return whenReady(prepared, (outcome) => {
      if (!outcome.ok) {
        exchange.refuse(outcome.problem);
        return undefined;
      }
      exchange.header('x-keyhold-key-source', outcome.value.keySource);
      return outcome.value;
    });
  }

  /** Authenticates and checks the body is an object without upstream overrides. */
  function gate(exchange: Exchange): Awaitable<Caller | undefined> {
    return whenReady(authenticateRequest(exchange.headers, deps.directory, false), (auth) => {
      if (!auth.ok) {
        exchange.refuse(auth.problem);
        return undefined;
      }
      return objectBodyOf(exchange) ? auth.value : undefined;
    });
  }

  async function chat(exchange: Exchange): Promise<void> {
    const gated = gate(exchange);
    const caller = gated instanceof Promise ? await gated : gated;
    if (!caller) return;
    const parsed = parseChatRequest(exchange.body);
    if (!parsed.ok) return exchange.refuse(problem(400, 'invalid_request', parsed.message, parsed.param));
    const begun = begin(exchange, parsed.value.model, 'chat', caller);
    const prepared = begun instanceof Promise ? await begun : begun;
    if (!prepared) return;

    const input = applyTenantPolicy(parsed.value.input, caller.tenant.settings);
    const admission = deps.caller.admit(prepared, input);
    const admitted = admission instanceof Promise ? await admission : admission;
    if (!admitted.ok) return exchange.refuse(admitted.problem);
    const call = admitted.value;
    exchange.setHeaders(call.admission.headers);
    const controller = abortOnClose(exchange.res);
    const ctx = {
      id: `chatcmpl-${responseIdOf(exchange.id)}`,
      model: call.route.requested,
      created: Math.floor(Date.now() / 1000),
    };
    if (!parsed.value.stream) {
      try {
        const result = await deps.caller.generate(call, input, controller.signal, exchange.timing);
        return exchange.sendJson(200, toChatCompletionJson(result, ctx));
      } catch (error) {
        return exchange.refuse(problemFromError(error));
      }
    }
    const encoder = createChatChunkEncoder(ctx, parsed.value.includeUsage);
    return streamResponse({
      exchange,
      controller,
      events: deps.caller.stream(call, input, controller.signal, exchange.timing, () =>
        exchange.holdOutput(),
      ),
      encoder: {
        encode: (event) => encoder.encode(event),
        end: () => encoder.end(),
        error: (p) => encoder.error(p.status, p.code, p.message),
      },
    });
  }

  async function embeddings(exchange: Exchange): Promise<void> {
    const gated = gate(exchange);
    const caller = gated instanceof Promise ? await gated : gated;
    if (!caller) return;
    const parsed = parseEmbeddingsRequest(exchange.body);
    if (!parsed.ok) return exchange.refuse(problem(400, 'invalid_request', parsed.message, parsed.param));
    const begun = begin(exchange, parsed.value.model, 'embedding', caller);
    const prepared = begun instanceof Promise ? await begun : begun;
    if (!prepared) return;
    const admission = deps.caller.admit(prepared, parsed.value.input);
    const admitted = admission instanceof Promise ? await admission : admission;
    if (!admitted.ok) return exchange.refuse(admitted.problem);
    const call = admitted.value;
    exchange.setHeaders(call.admission.headers);
    const controller = abortOnClose(exchange.res);
    try {
      const result = await deps.caller.embed(call, parsed.value.input, controller.signal, exchange.timing);
      return exchange.send(
        200,
        toEmbeddingsResponse(result, call.route.requested, parsed.value.encodingFormat),
      );
    } catch (error) {
      return exchange.refuse(problemFromError(error));
    }
  }

  async function listModels(exchange: Exchange): Promise<void> {
    const auth = await authenticateRequest(exchange.headers, deps.directory, true);
    if (!auth.ok) return exchange.refuse(auth.problem);
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
    return exchange.send(200, toModelList(models, 1_700_000_000));
  }

  return [
    { method: 'POST', path: '/v1/chat/completions', surface: 'openai', handle: chat },
    { method: 'POST', path: '/v1/embeddings', surface: 'openai', handle: embeddings },
    { method: 'GET', path: '/v1/models', surface: 'openai', handle: listModels },
  ];
}
