import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, LazyChildLogger } from './logger.js';

const KEY = 'sk-live-logger-test-0123456789abcdef';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ destination, level: 'debug' }) };
}

describe('gateway logger redaction', () => {
  it('censors sensitive names at the top level, one level down and in request headers', () => {
    const { lines, logger } = capture();
    logger.info({ apiKey: KEY, authorization: `Bearer ${KEY}`, 'x-api-key': KEY }, 'top');
    logger.info({ upstream: { apiKey: KEY, token: KEY, url: 'https://api.example' } }, 'nested');
    logger.info({ req: { headers: { authorization: `Bearer ${KEY}`, 'x-provider-api-key': KEY } } }, 'req');
    logger.child({ reqId: 'r1' }).warn({ call: { headers: { authorization: KEY }, body: KEY } }, 'child');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).not.toContain(KEY.slice(-8));
      expect(line).toContain('[redacted]');
    }
    const nested = JSON.parse(lines[1]!);
    // Only the sensitive names go; the rest of the object is kept.
    expect(nested.upstream).toEqual({
      apiKey: '[redacted]',
      token: '[redacted]',
      url: 'https://api.example',
    });
    expect(JSON.parse(lines[3]!).reqId).toBe('r1');
  });

  it('leaves lines without sensitive names as they are, errors included', () => {
    const { lines, logger } = capture();
    const error = Object.assign(new Error('upstream failed'), { code: 'E_UP' });
    logger.error({ request: { method: 'POST', path: '/v1/chat/completions' }, err: error }, 'failed');
    const line = JSON.parse(lines[0]!);
    expect(line.request).toEqual({ method: 'POST', path: '/v1/chat/completions' });
    expect(line.err).toMatchObject({ type: 'Error', message: 'upstream failed', code: 'E_UP' });
    expect(line.err.stack).toContain('upstream failed');
  });
});

describe('lazy request logger', () => {
  it('builds the pino child only when it logs, with the request binding and the same redaction', () => {
    const { lines, logger } = capture();
    let children = 0;
    const parent = new Proxy(logger, {
      get(target, name, receiver) {
        if (name === 'child') {
          return (...args: Parameters<typeof logger.child>) => {
            children++;
            return target.child(...args);
          };
        }
        return Reflect.get(target, name, receiver);
      },
    });
    const lazy = LazyChildLogger.create(parent, { reqId: 'req_lazy' });
    expect(lazy.level).toBe('debug');
    expect(children).toBe(0);
    lazy.error({ err: { type: 'Error' }, apiKey: KEY }, 'unhandled error');
    lazy.info('second line');
    expect(children).toBe(1);
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ level: 'error', reqId: 'req_lazy', msg: 'unhandled error' });
    expect(lines[0]).not.toContain(KEY.slice(-8));
    expect(JSON.parse(lines[1]!)).toMatchObject({ reqId: 'req_lazy', msg: 'second line' });
  });
});
