import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createAccessLog, milliseconds, pathOf } from './access-log.js';
import { createLogger } from './logger.js';

function capture(level = 'info') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ destination, level });
  return { lines, logger, access: createAccessLog(logger) };
}

const ENTRY = {
  reqId: 'req_0123456789abcdef01234567',
  method: 'POST',
  path: '/v1/chat/completions',
  clientRequestId: 'client-42',
  statusCode: 200,
  responseTime: 1.5,
  msg: 'request completed',
};

describe('access log', () => {
  it('writes the same JSON line as the logger would, bindings and all', () => {
    const { lines, logger, access } = capture();
    access(ENTRY);
    logger.info(
      {
        reqId: ENTRY.reqId,
        request: { method: ENTRY.method, path: ENTRY.path },
        clientRequestId: ENTRY.clientRequestId,
        res: { statusCode: ENTRY.statusCode },
        responseTime: ENTRY.responseTime,
      },
      ENTRY.msg,
    );
    expect(lines).toHaveLength(2);
    const [fast, regular] = lines.map((l) => JSON.parse(l));
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(typeof fast.time).toBe('string');
    expect(Number.isNaN(Date.parse(fast.time))).toBe(false);
    delete fast.time;
    delete regular.time;
    expect(fast).toEqual(regular);
    expect(fast.service).toBe('keyhold-gateway');
    // Same key order too, so log tooling sees one shape.
    expect(Object.keys(fast)).toEqual(Object.keys(regular));
  });

  it('leaves out what was not given and adds how a stream ended', () => {
    const { lines, access } = capture();
    access({ ...ENTRY, clientRequestId: undefined, stream: 'client_closed', msg: 'stream finished' });
    const line = JSON.parse(lines[0]!);
    expect(line).not.toHaveProperty('clientRequestId');
    expect(line.stream).toBe('client_closed');
    expect(line.msg).toBe('stream finished');
  });

  it('escapes what it is given: every line stays one valid JSON document', () => {
    const { lines, access } = capture();
    access({ ...ENTRY, path: '/v1/"x"\n{"level":"fatal"}', method: 'GET' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.split('\n').filter(Boolean)).toHaveLength(1);
    expect(JSON.parse(lines[0]!).request.path).toBe('/v1/"x"\n{"level":"fatal"}');
  });

  it('writes nothing when the level is above info', () => {
    const { lines, access } = capture('warn');
    access(ENTRY);
    expect(lines).toHaveLength(0);
  });

  it('never logs a query string', () => {
    expect(pathOf('/v1/chat/completions?api_key=sk-secret')).toBe('/v1/chat/completions');
    expect(pathOf(`/v1/${'a'.repeat(300)}`).length).toBeLessThanOrEqual(201);
  });
});

describe('milliseconds', () => {
  it('writes milliseconds as a JSON number to the microsecond', () => {
    const cases: [number, number][] = [
      [1.5, 1.5],
      [0, 0],
      [0.0004, 0],
      [0.0005, 0.001],
      [12.3456789, 12.346],
      [999.9996, 1000],
      [-2.5, -2.5],
      [-0.0001, 0],
      [86_400_000.25, 86_400_000.25],
    ];
    for (const [ms, expected] of cases) expect(JSON.parse(milliseconds(ms))).toBe(expected);
    expect(milliseconds(1.5)).toBe('1.500');
    expect(milliseconds(12.3456789)).toBe('12.346');
    expect(milliseconds(Number.NaN)).toBe('null');
    expect(milliseconds(Number.POSITIVE_INFINITY)).toBe('null');
    expect(JSON.parse(milliseconds(1e20))).toBe(1e20);
  });
});
