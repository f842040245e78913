import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Paths pino censors wherever they appear in a log object. This is the second line of defence:
 * the first is that the gateway never logs header or body objects, nor any provider body.
 */
export const REDACTED_PATHS = [
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
  '*.authorization',
  '*.apiKey',
  '*.api_key',
  '*.key',
  '*.credential',
  '*.credentials',
  '*.secret',
  '*.secrets',
  '*.password',
  '*.token',
  '*.headers',
  '*.body',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-provider-api-key"]',
  'req.headers.cookie',
  '*["x-api-key"]',
  '*["x-provider-api-key"]',
];

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
  // Buffered, asynchronous stdout by default: a synchronous write per request line costs the hot
  // path more than the rest of the logging. The buffer is flushed every second (so an operator
  // watching the console sees lines promptly) and when the process exits.
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { service: 'keyhold-gateway' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  if (!options.destination) setInterval(() => logger.flush(), 1000).unref();
  return logger;
}
