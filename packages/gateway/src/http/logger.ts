import type { FastifyBaseLogger } from 'fastify';
import pino, { type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino';
import { stdoutDestination } from './log-destination.js';

/** Field names whose values are never logged: at the top of a line or one level down. */
const SENSITIVE_NAMES = [
  'authorization',
  'apiKey',
  'api_key',
  'key',
  'credential',
  'credentials',
  'secret',
  'secrets',
  'password',
  'token',
  'headers',
  'body',
  'cookie',
  'x-api-key',
  'x-provider-api-key',
];

/**
 * Paths pino censors. This is the second line of defence: the first is that the gateway never
 * logs header or body objects, nor any provider body. Top-level names and request headers are
 * pino's `redact` paths; names one level down (`{ upstream: { apiKey } }`) are censored by
 * {@link censorNested}, because pino's wildcard paths (`*.apiKey`) cost ~20 µs per log line
 * against ~2 µs for the same protection by hand.
 */
export const REDACTED_PATHS = [
  ...SENSITIVE_NAMES.map((name) => (/^[A-Za-z_]\w*$/.test(name) ? name : `["${name}"]`)),
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-provider-api-key"]',
  'req.headers.cookie',
];

const CENSOR = '[redacted]';
const SENSITIVE = new Set(SENSITIVE_NAMES);

/**
 * Replaces the values of sensitive names in the objects directly under a log line's top level.
 * Copies an object only when it holds such a name, so the usual line costs one pass over its keys.
 */
export function censorNested(line: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const name in line) {
    const value = line[name];
    // Errors go to pino's serializer as they are (a copy would lose their stack and class).
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Error)
      continue;
    const inner = value as Record<string, unknown>;
    let censored: Record<string, unknown> | undefined;
    for (const key in inner) {
      if (!SENSITIVE.has(key)) continue;
      censored ??= { ...inner };
      censored[key] = CENSOR;
    }
    if (censored) {
      out ??= { ...line };
      out[name] = censored;
    }
  }
  return out ?? line;
}

export interface LoggerOptions {
  level?: string;
  /** Where JSON lines go (default stdout). Tests pass a collecting stream. */
  destination?: DestinationStream;
}

/**
 * The gateway's structured JSON logger (pino), with redaction by path. Each request's child
 * logger carries its `reqId`, so every line of a request names it.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  // Batched, asynchronous stdout by default (log-destination.ts): a synchronous write per request
  // line costs the hot path more than the rest of the logging. Lines leave within 100 ms or
  // every 16 KiB, at the latest every second (flush below), and when the process exits.
  const destination = options.destination ?? stdoutDestination();
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'keyhold-gateway' },
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: censorNested },
    },
    destination,
  );
  if (!options.destination) setInterval(() => logger.flush(), 1000).unref();
  return logger;
}

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * A request's child logger (Fastify's `request.log`) that becomes a real pino child only when
 * something is logged through it. Fastify makes one per request; the gateway's request path
 * logs through its access log instead, so nearly every request would build a pino child (its
 * bindings serialised, a logger object allocated) and never use it.
 */
export class LazyChildLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions | undefined;
  #real: FastifyBaseLogger | undefined;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options?: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  /** For Fastify's `childLoggerFactory`: pino's method overloads are kept by forwarding `arguments` as is. */
  static create(
    parent: FastifyBaseLogger,
    bindings: Bindings,
    options?: ChildLoggerOptions,
  ): FastifyBaseLogger {
    return new LazyChildLogger(parent, bindings, options) as unknown as FastifyBaseLogger;
  }

  #logger(): FastifyBaseLogger {
    this.#real ??= this.#parent.child(this.#bindings, this.#options);
    return this.#real;
  }

  get level(): string {
    return this.#real?.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  // Methods on the prototype, not per-instance closures: one of these exists per request.
  fatal(...args: unknown[]): void {
    this.#call('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#call('error', args);
  }
  warn(...args: unknown[]): void {
    this.#call('warn', args);
  }
  info(...args: unknown[]): void {
    this.#call('info', args);
  }
  debug(...args: unknown[]): void {
    this.#call('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#call('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }

  #call(method: LogMethod, args: unknown[]): void {
    const logger = this.#logger();
    (logger[method] as (...a: unknown[]) => void).apply(logger, args);
  }
}
