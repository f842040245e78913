import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { createAccessLog, pathOf } from './access-log.js';
import { registerAnthropicRoutes } from './anthropic-routes.js';
import { overheadOf } from './gateway-request.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './json-body-parser.js';
import { LazyChildLogger } from './logger.js';
import { registerOpenAIRoutes } from './openai-routes.js';
import { problem, problemFromError } from './problem.js';
import { clientRequestIdOf, requestIdOf } from './request-id.js';
import type { RouteDeps } from './route-deps.js';
import { sendProblem, surfaceOf } from './surface.js';

export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

export interface ServerOptions extends Omit<RouteDeps, 'access'> {
  logger: Logger;
  /** Largest request body in bytes (default 4 MiB); larger ones get 413. */
  bodyLimit?: number;
  /**
   * `/readyz` answers 200 only while this is true (false while starting and draining, and while
   * usage cannot be recorded).
   */
  isReady: () => boolean;
}

/**
 * Builds the Fastify server: JSON parsing that refuses prototype-poisoning keys and over-deep
 * nesting, a body limit, a request id on every response and log line, the overhead header,
 * health endpoints and the API routes. Every error leaves in the client API's own shape.
 */
export function buildServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: requestIdOf,
    // Keep-alive connections that are idle are closed on shutdown; busy ones are drained.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Requests are logged by hand in a fixed shape (method, path, status, time): never headers.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    routerOptions: { ignoreTrailingSlash: true },
    // `request.log` is made only if something logs through it (see LazyChildLogger).
    childLoggerFactory: (logger, bindings, childOptions) =>
      new LazyChildLogger(logger, bindings, childOptions),
  });

  app.decorateRequest('timing', null as never);
  app.decorateRequest('streamed', false);

  // Fastify's own JSON parser already refuses `__proto__` and `constructor.prototype` keys
  // (secure-json-parse, "error" mode → 400); the depth check comes first.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonDepthExceeds(text)) {
      const error = new Error(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`) as FastifyError;
      error.statusCode = 400;
      error.code = 'KH_JSON_TOO_DEEP';
      done(error, undefined);
      return;
    }
    defaultJson(request, text, done);
  });

  app.addHook('onRequest', (request, reply, done) => {
    request.timing = { started: performance.now(), upstreamMs: 0 };
    reply.header('x-request-id', request.id);
    const clientId = clientRequestIdOf(request.raw);
    if (clientId !== undefined) reply.header('x-client-request-id', clientId);
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-keyhold-overhead-ms', overheadOf(request));
    done(null, payload);
  });

  const access = createAccessLog(options.logger);
  app.addHook('onResponse', (request, reply, done) => {
    // A stream wrote its own line, with how it ended.
    if (request.streamed) return done();
    access({
      reqId: request.id,
      method: request.method,
      path: pathOf(request.url),
      clientRequestId: clientRequestIdOf(request.raw),
      statusCode: reply.statusCode,
      responseTime: reply.elapsedTime,
      msg: 'request completed',
    });
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const surface = surfaceOf(request.url);
    const status = error.statusCode;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      return sendProblem(reply, surface, problem(413, 'request_too_large', 'The request body is too large'));
    }
    if (error.code === 'KH_JSON_TOO_DEEP') {
      return sendProblem(reply, surface, problem(400, 'invalid_json', error.message));
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendProblem(
        reply,
        surface,
        problem(415, 'unsupported_media_type', 'Send the body as application/json'),
      );
    }
    if (status !== undefined && status >= 400 && status < 500) {
      // Parser errors (malformed JSON, an empty body, `__proto__` keys): the message is about
      // the request's syntax, not its content, so a fixed text is enough.
      const poisoned = /prototype|constructor/i.test(error.message);
      return sendProblem(
        reply,
        surface,
        problem(
          400,
          'invalid_json',
          poisoned
            ? 'The request body contains a forbidden key (__proto__ or constructor)'
            : 'The request body is not valid JSON',
        ),
      );
    }
    const p = problemFromError(error);
    if (p.status >= 500)
      request.log.error({ err: { type: error.name, code: error.code } }, 'unhandled error');
    return sendProblem(reply, surface, p);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, surfaceOf(request.url), problem(404, 'not_found', 'No such route')),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) =>
    options.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'not_ready' }),
  );

  const deps: RouteDeps = { ...options, access };
  registerOpenAIRoutes(app, deps);
  registerAnthropicRoutes(app, deps);
  return app;
}
