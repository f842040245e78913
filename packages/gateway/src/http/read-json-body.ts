import type { IncomingMessage } from 'node:http';
import { notJson, parseJsonText } from './json-body-parser.js';
import { type Outcome, problem } from './problem.js';

const tooLarge = () => problem(413, 'request_too_large', 'The request body is too large');

/**
 * The request body of an API call: JSON (`application/json`, any parameters) parsed, plain text
 * (`text/plain`) as a string for the route to refuse, no body as `undefined`; any other media type
 * is 415. The body may be at most `limit` bytes (413, checked against `content-length` before
 * reading and while reading). The JSON is parsed by `parseJsonText`, as on Fastify's routes. A
 * refusal names no part of the body.
 *
 * After a refusal the rest of the body may be unread: unless the request is complete, the caller
 * closes the connection.
 */
export function readJsonBody(
  req: IncomingMessage,
  limit: number,
): Promise<Outcome<unknown>> | Outcome<unknown> {
  const headers = req.headers;
  const kind = mediaKind(headers['content-type']);
  const declared = headers['content-length'];
  const chunked = headers['transfer-encoding'] !== undefined;
  if (kind === undefined) {
    // No content type: fine without a body, like Fastify (the route then refuses the missing body).
    if (!chunked && (declared === undefined || declared === '0')) return { ok: true, value: undefined };
    return unsupported();
  }
  if (kind === 'other') return unsupported();
  const length = declared === undefined ? Number.NaN : Number(declared);
  if (length > limit) return { ok: false, problem: tooLarge() };
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (outcome: Outcome<unknown>) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) finish({ ok: false, problem: tooLarge() });
      else chunks.push(chunk);
    };
    const onError = () => finish({ ok: false, problem: notJson() });
    const onEnd = () => {
      if (!Number.isNaN(length) && received !== length) return finish({ ok: false, problem: notJson() });
      const text =
        chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, received).toString('utf8');
      finish(kind === 'json' ? parseJsonText(text) : { ok: true, value: text });
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function unsupported(): Outcome<unknown> {
  return { ok: false, problem: problem(415, 'unsupported_media_type', 'Send the body as application/json') };
}

/** `json`, `text`, `other`, or `undefined` when the request names no content type. */
function mediaKind(contentType: string | undefined): 'json' | 'text' | 'other' | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type === 'application/json') return 'json';
  if (type === 'text/plain') return 'text';
  return 'other';
}
