import { createServer } from 'node:http';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { createAccessLog, milliseconds, pathOf } from './access-log.js';
import { anthropicRoutes } from './anthropic-routes.js';
import { createApiRouter } from './api-router.js';
import { notJson, parseJsonText } from './json-body-parser.js';
import { LazyChildLogger } from './logger.js';
import { openAIRoutes } from './openai-routes.js';
import { type Problem, problem, problemFromError } from './problem.js';
import { clientRequestIdOf, requestIdOf } from './request-id.js';
import type { RouteDeps } from './route-deps.js';
import { sendProblem, surfaceOf } from './surface.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** When the request arrived (`performance.now()`), for the overhead header. */
    started: number;
  }
}

export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

export interface ServerOptions extends RouteDeps {
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
 * Builds the server. The client API (`/v1/…`) is answered by `createApiRouter` on node's own
 * request and response; everything else (health, the admin API, unknown routes, and every
 * request once the server closes) by Fastify. Both refuse prototype-poisoning keys and over-deep
 * JSON, enforce the body limit, put a request id on every response and log line and send the
 * overhead header; every error leaves in the client API's own shape.
 */
export function buildServer(options: ServerOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const access = createAccessLog(options.logger);
  let closing = false;
  const api = createApiRouter({
    routes: [...openAIRoutes(options), ...anthropicRoutes(options)],
    access,
    logger: options.logger,
    bodyLimit,
    isClosing: () => closing,
  });
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit,
    // Fastify's own server setup (timeouts) applied to a server whose handler asks the API
    // router first.
    serverFactory: (handler, serverOptions) => {
      const server = createServer((req, res) => {
        if (!api(req, res)) handler(req, res);
      });
      // Fastify has filled in its defaults by now (72 s keep-alive, no request timeout).
      const timeouts = serverOptions as {
        keepAliveTimeout: number;
        requestTimeout: number;
        connectionTimeout: number;
      };
      server.keepAliveTimeout = timeouts.keepAliveTimeout;
      server.requestTimeout = timeouts.requestTimeout;
      server.setTimeout(timeouts.connectionTimeout);
      return server;
    },
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

  app.decorateRequest('started', 0);
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  // The same JSON parser as the `/v1` router's; a refusal carries its problem to the error handler.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const parsed = parseJsonText(body as string);
    if (parsed.ok) return done(null, parsed.value);
    const error = new Error(parsed.problem.message) as FastifyError & { problem: Problem };
    error.statusCode = parsed.problem.status;
    error.problem = parsed.problem;
    done(error, undefined);
  });

  app.addHook('onRequest', (request, reply, done) => {
    request.started = performance.now();
    reply.header('x-request-id', request.id);
    const clientId = clientRequestIdOf(request.raw);
    if (clientId !== undefined) reply.header('x-client-request-id', clientId);
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-keyhold-overhead-ms', overheadOf(request));
    done(null, payload);
  });

  app.addHook('onResponse', (request, reply, done) => {
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
    const refused = (error as { problem?: Problem }).problem;
    if (refused !== undefined) return sendProblem(reply, surface, refused);
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return sendProblem(
        reply,
        surface,
        problem(415, 'unsupported_media_type', 'Send the body as application/json'),
      );
    }
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own refusals of a body (an empty one, say): about its syntax, a fixed text.
      return sendProblem(reply, surface, notJson());
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
  return app;
}

/** Milliseconds spent inside the gateway on a Fastify route, as header text. */
function overheadOf(request: FastifyRequest): string {
  return milliseconds(Math.max(0, performance.now() - request.started));
}
