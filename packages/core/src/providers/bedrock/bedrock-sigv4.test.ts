import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../test/support/leaks.js';
import { type RecordedRequest, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import { collectStream } from '../../collect-stream.js';
import { createEngine, generate, stream } from '../../engine.js';
import { AuthenticationError } from '../../errors.js';
import { createUndiciTransport, type Transport } from '../../transport/transport.js';
import {
  converseText,
  encodeEvent,
  readStreamFixture,
  sendAwsError,
  sendConverse,
  sendEventStream,
} from './testing/bedrock-wire.js';
import { type SigV4Verdict, verifySigV4 } from './testing/verify-sigv4.js';

const MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';

interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

function keyPair(i: number, withToken = false): KeyPair {
  return {
    accessKeyId: `AKIA${canaryKey('T').slice(2, 18).toUpperCase()}`,
    secretAccessKey: canaryKey('wJalr'),
    ...(withToken ? { sessionToken: canaryKey('IQoJb3JpZ2luX2Vj') } : {}),
    region: ['us-east-1', 'eu-west-3', 'ap-southeast-2'][i % 3]!,
  };
}

function secretsOf(pair: KeyPair): string[] {
  return [pair.secretAccessKey, pair.accessKeyId, ...(pair.sessionToken ? [pair.sessionToken] : [])];
}

function lastUserText(request: RecordedRequest): string {
  return request.body.messages.at(-1).content[0].text;
}

/**
 * A Bedrock stand-in that checks every signature with the secret it knows for the access key id,
 * answering as AWS does when the check fails (403 and the error type in `x-amzn-errortype`;
 * InvalidSignatureException echoes the canonical request, session token included).
 */
function verifyingHandler(known: Map<string, string>, verdicts: SigV4Verdict[]) {
  return (request: RecordedRequest, res: ServerResponse) => {
    const verdict = verifySigV4(request, (id) => known.get(id), { service: 'bedrock' });
    verdicts.push(verdict);
    if (!verdict.ok) {
      const message =
        verdict.errorType === 'InvalidSignatureException'
          ? `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'${verdict.canonicalRequest}'`
          : 'The security token included in the request is invalid.';
      return sendAwsError(res, 403, verdict.errorType, { message });
    }
    if (request.path.endsWith('/converse-stream')) {
      return sendEventStream(
        res,
        readStreamFixture('stream-text.events.jsonl').map((e) => encodeEvent(e)),
      );
    }
    return sendConverse(res, converseText(`signed ${lastUserText(request)}`));
  };
}

describe('bedrock SigV4 signing, verified by the server', () => {
  let upstream: Upstream;
  const known = new Map<string, string>();
  const verdicts: SigV4Verdict[] = [];
  const engine = () =>
    createEngine({ provider: 'bedrock', model: MODEL, options: { baseURL: upstream.url } });

  beforeAll(async () => {
    upstream = await startUpstream(verifyingHandler(known, verdicts));
  });
  afterAll(async () => {
    await upstream.close();
  });

  function register(pair: KeyPair): KeyPair {
    known.set(pair.accessKeyId, pair.secretAccessKey);
    return pair;
  }

  it('signs Converse with the access key pair: a valid signature over the encoded model path', async () => {
    const pair = register(keyPair(0));
    const result = await generate(
      engine(),
      { messages: [{ role: 'user', content: 'hello' }] },
      { apiKey: { ...pair }, maxRetries: 0 },
    );
    expect(result.content).toBe('signed hello');
    const request = upstream.requests.at(-1)!;
    expect(verdicts.at(-1)).toEqual({
      ok: true,
      accessKeyId: pair.accessKeyId,
      region: 'us-east-1',
      sessionToken: undefined,
    });
    // The ':' of the model id travels as %3A; the signature is over its re-encoding (%253A).
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(request.headers.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${pair.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request, SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(request.headers['x-amz-security-token']).toBeUndefined();
    expect(request.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expectNoKeyIn(allRenderings(result), pair.secretAccessKey);
  });

  it('sends and signs the session token as x-amz-security-token, and signs ConverseStream too', async () => {
    const pair = register(keyPair(1, true));
    const result = await collectStream(
      stream(
        engine(),
        { messages: [{ role: 'user', content: 'stream me' }] },
        { apiKey: { ...pair }, maxRetries: 0 },
      ),
    );
    expect(result.content).toBe("Three r's: st-r-awbe-r-r-y.");
    const request = upstream.requests.at(-1)!;
    expect(request.url).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
    expect(request.headers['x-amz-security-token']).toBe(pair.sessionToken);
    expect(request.headers.accept).toBe('application/vnd.amazon.eventstream');
    expect(verdicts.at(-1)).toEqual({
      ok: true,
      accessKeyId: pair.accessKeyId,
      region: 'eu-west-3',
      sessionToken: pair.sessionToken,
    });
  });

  it('signs model ids that are ARNs (slashes and colons in one path segment)', async () => {
    const pair = register(keyPair(2));
    const arn =
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0';
    const arnEngine = createEngine({ provider: 'bedrock', model: arn, options: { baseURL: upstream.url } });
    await generate(
      arnEngine,
      { messages: [{ role: 'user', content: 'arn' }] },
      { apiKey: { ...pair }, maxRetries: 0 },
    );
    expect(upstream.requests.at(-1)!.url).toBe(`/model/${encodeURIComponent(arn)}/converse`);
    expect(verdicts.at(-1)!.ok).toBe(true);
  });

  it('a wrong secret fails verification: AuthenticationError, and no fragment of any credential in it', async () => {
    const pair = keyPair(0, true);
    known.set(pair.accessKeyId, canaryKey('other-secret'));
    const error = await generate(
      engine(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: { ...pair }, maxRetries: 0 },
    ).catch((e) => e);
    expect(verdicts.at(-1)).toMatchObject({ ok: false, errorType: 'InvalidSignatureException' });
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.upstreamStatus).toBe(403);
    expect(error.providerCode).toBe('InvalidSignatureException');
    expectNoKeyIn(allRenderings(error), ...secretsOf(pair));
  });

  it('an unknown access key id is an UnrecognizedClientException → AuthenticationError', async () => {
    const pair = keyPair(0);
    const error = await generate(
      engine(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: { ...pair }, maxRetries: 0 },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.providerCode).toBe('UnrecognizedClientException');
    expectNoKeyIn(allRenderings(error), ...secretsOf(pair));
  });

  it('a body changed after signing fails verification: the signature covers the exact bytes sent', async () => {
    const pair = register(keyPair(0));
    const real = createUndiciTransport();
    // A man in the middle: the same request with one byte of the body changed.
    const tampering: Transport = {
      request: (req) => {
        const body = Buffer.from(req.body as Uint8Array);
        const at = body.indexOf('tamper-me');
        body.write('TAMPER', at);
        return real.request({ ...req, body });
      },
    };
    const error = await generate(
      engine(),
      { messages: [{ role: 'user', content: 'tamper-me' }] },
      { apiKey: { ...pair }, maxRetries: 0, transport: tampering },
    ).catch((e) => e);
    expect(lastUserText(upstream.requests.at(-1)!)).toBe('TAMPER-me');
    expect(verdicts.at(-1)).toMatchObject({ ok: false, errorType: 'InvalidSignatureException' });
    expect(error).toBeInstanceOf(AuthenticationError);
    expectNoKeyIn(allRenderings(error), ...secretsOf(pair));
  });

  it('an extra caller header cannot replace a signed one', async () => {
    const pair = register(keyPair(0));
    const result = await generate(
      engine(),
      { messages: [{ role: 'user', content: 'headers' }] },
      { apiKey: { ...pair }, maxRetries: 0, headers: { 'Content-Type': 'text/plain', 'x-trace': 'abc' } },
    );
    expect(result.content).toBe('signed headers');
    expect(upstream.requests.at(-1)!.headers['content-type']).toBe('application/json');
    expect(upstream.requests.at(-1)!.headers['x-trace']).toBe('abc');
    expect(verdicts.at(-1)!.ok).toBe(true);
  });

  it('1,000 concurrent calls with 50 access-key pairs: each is signed with its own caller’s secret', async () => {
    const pairs = Array.from({ length: 50 }, (_, i) => register(keyPair(i, i % 2 === 0)));
    const e = engine();
    const before = upstream.requests.length;
    const results = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        for (let j = 0; j < i % 5; j++) await Promise.resolve();
        return generate(
          e,
          { messages: [{ role: 'user', content: `marker-${i}` }] },
          { apiKey: { ...pairs[i % 50]! }, maxRetries: 0 },
        );
      }),
    );
    for (const [i, r] of results.entries()) expect(r.content).toBe(`signed marker-${i}`);
    const seen = upstream.requests.slice(before);
    const seenVerdicts = verdicts.slice(verdicts.length - 1000);
    expect(seen).toHaveLength(1000);
    seen.forEach((request, n) => {
      const pair = pairs[Number(lastUserText(request).replace('marker-', '')) % 50]!;
      expect(seenVerdicts[n]).toEqual({
        ok: true,
        accessKeyId: pair.accessKeyId,
        region: pair.region,
        sessionToken: pair.sessionToken,
      });
    });
    expectNoKeyIn(allRenderings(e), ...pairs.flatMap(secretsOf));
    expectNoKeyIn(allRenderings(results), ...pairs.flatMap(secretsOf));
  });
});
