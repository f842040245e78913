import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRenderings, canaryKey, expectNoKeyIn } from '../../../test/support/leaks.js';
import { type RecordedRequest, startUpstream, type Upstream } from '../../../test/support/upstream-server.js';
import { createEngine, generate, stream } from '../../engine.js';
import {
  AuthenticationError,
  ContextLengthError,
  InvalidRequestError,
  NotFoundError,
  PermissionError,
  ProviderUnavailableError,
  RateLimitError,
  TimeoutError,
} from '../../errors.js';
import { normaliseErrorType, readBedrockError } from './bedrock-errors.js';
import { converseText, sendAwsError, sendConverse } from './testing/bedrock-wire.js';

type ErrorClass = abstract new (...args: never[]) => Error;

describe('bedrock HTTP errors', () => {
  let upstream: Upstream;
  let respond: (request: RecordedRequest, res: ServerResponse) => void;
  const engine = () =>
    createEngine({
      provider: 'bedrock',
      model: 'meta.llama3-70b-instruct-v1:0',
      options: { baseURL: upstream.url },
    });

  beforeAll(async () => {
    upstream = await startUpstream((request, res) => respond(request, res));
  });
  afterAll(async () => {
    await upstream.close();
  });

  async function failWith(key: string) {
    const apiKey = { apiKey: key, region: 'us-east-1' };
    const messages = [{ role: 'user' as const, content: 'x' }];
    const error = await generate(engine(), { messages }, { apiKey, maxRetries: 0 }).catch((e) => e);
    const streamError = await (async () => {
      for await (const _ of stream(engine(), { messages }, { apiKey, maxRetries: 0 })) {
        // unreachable
      }
    })().catch((e) => e);
    return { error, streamError };
  }

  const cases: [string, number, string | undefined, Record<string, string>, ErrorClass, boolean][] = [
    [
      'a rejected API key (403, type header)',
      403,
      'UnrecognizedClientException',
      { message: 'The security token included in the request is invalid. KEY' },
      AuthenticationError,
      false,
    ],
    [
      'a rejected API key (403, bare "Message")',
      403,
      undefined,
      { Message: 'Authentication failed: Please make sure your API Key is valid. KEY' },
      AuthenticationError,
      false,
    ],
    [
      'a bad signature',
      403,
      'InvalidSignatureException',
      { message: 'The request signature we calculated does not match. KEY' },
      AuthenticationError,
      false,
    ],
    [
      'an expired session token',
      400,
      'ExpiredTokenException',
      { message: 'The security token included in the request is expired' },
      AuthenticationError,
      false,
    ],
    [
      'an incomplete signature',
      400,
      'IncompleteSignatureException',
      { message: "Authorization header requires 'Credential' parameter. KEY" },
      AuthenticationError,
      false,
    ],
    [
      'access denied to the model',
      403,
      'AccessDeniedException',
      { message: "You don't have access to the model with the specified model ID." },
      PermissionError,
      false,
    ],
    [
      'throttling',
      429,
      'ThrottlingException',
      { message: 'Too many requests, please wait before trying again.' },
      RateLimitError,
      true,
    ],
    [
      'a service quota (HTTP 400)',
      400,
      'ServiceQuotaExceededException',
      { message: 'Your request exceeds the service quota.' },
      RateLimitError,
      true,
    ],
    [
      'a context overflow',
      400,
      'ValidationException',
      { message: 'Input is too long for requested model.' },
      ContextLengthError,
      false,
    ],
    [
      'too many input tokens',
      400,
      'ValidationException',
      {
        message: 'Malformed input request: too many input tokens, please reformat your input and try again.',
      },
      ContextLengthError,
      false,
    ],
    [
      'a plain validation error',
      400,
      'ValidationException',
      { message: 'The provided model identifier is invalid. KEY' },
      InvalidRequestError,
      false,
    ],
    [
      'an unknown model',
      404,
      'ResourceNotFoundException',
      { message: 'Could not resolve the foundation model.' },
      NotFoundError,
      false,
    ],
    [
      'a model timeout',
      408,
      'ModelTimeoutException',
      { message: 'Model has timed out in processing the request.' },
      TimeoutError,
      true,
    ],
    [
      'a model error',
      424,
      'ModelErrorException',
      { message: 'The model returned an error.' },
      ProviderUnavailableError,
      true,
    ],
    [
      'a model not ready',
      429,
      'ModelNotReadyException',
      { message: 'Model is not ready for inference.' },
      ProviderUnavailableError,
      true,
    ],
    [
      'an internal error',
      500,
      'InternalServerException',
      { message: 'Internal server error' },
      ProviderUnavailableError,
      true,
    ],
    [
      'the service unavailable',
      503,
      'ServiceUnavailableException',
      { message: 'Service unavailable' },
      ProviderUnavailableError,
      true,
    ],
  ];

  it.each(cases)(
    '%s → typed error, no key fragment',
    async (_name, status, type, body, ErrorType, transient) => {
      const key = canaryKey('ABSK');
      // Providers echo what they were given; the canary rides in the body.
      const echoed = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, v.replace('KEY', key)]));
      respond = (_request, res) => sendAwsError(res, status, type, echoed);
      const { error, streamError } = await failWith(key);
      for (const e of [error, streamError]) {
        expect(e).toBeInstanceOf(ErrorType);
        expect(e.transient).toBe(transient);
        expect(e.upstreamStatus).toBe(status);
        expect(e.provider).toBe('bedrock');
        if (type) expect(e.providerCode).toBe(type);
        expectNoKeyIn(allRenderings(e), key);
      }
    },
  );

  it('429 with retry-after → RateLimitError.retryAfterMs', async () => {
    respond = (_request, res) =>
      sendAwsError(res, 429, 'ThrottlingException', { message: 'Too many requests' }, { 'retry-after': '7' });
    const { error } = await failWith(canaryKey('ABSK'));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.retryAfterMs).toBe(7000);
  });

  it('503 is retried, then succeeds', async () => {
    let calls = 0;
    respond = (_request, res) =>
      ++calls === 1
        ? sendAwsError(
            res,
            503,
            'ServiceUnavailableException',
            { message: 'Service unavailable' },
            { 'retry-after': '0' },
          )
        : sendConverse(res, converseText('recovered'));
    const result = await generate(
      engine(),
      { messages: [{ role: 'user', content: 'x' }] },
      { apiKey: { apiKey: canaryKey('ABSK'), region: 'us-east-1' }, maxRetries: 1 },
    );
    expect(result.content).toBe('recovered');
    expect(calls).toBe(2);
  });

  it('a non-JSON error body still maps by its type header', async () => {
    respond = (_request, res) => {
      res.writeHead(403, {
        'x-amzn-errortype': 'AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/',
      });
      res.end('<html>denied</html>');
    };
    const { error } = await failWith(canaryKey('ABSK'));
    expect(error).toBeInstanceOf(PermissionError);
  });
});

describe('readBedrockError', () => {
  it('reads the type from the header, the body __type, and never keeps the message', () => {
    expect(
      readBedrockError({ message: 'no' }, { 'x-amzn-errortype': 'ValidationException:http://x/' }),
    ).toEqual({
      providerCode: 'ValidationException',
    });
    expect(
      readBedrockError({ __type: 'com.amazon.coral.service#UnrecognizedClientException', message: 'x' }),
    ).toEqual({
      providerCode: 'UnrecognizedClientException',
    });
  });

  it('normalises event-stream spellings and refuses anything that is not an identifier', () => {
    expect(normaliseErrorType('throttlingException')).toBe('ThrottlingException');
    expect(normaliseErrorType('Bad type; key=ABSK123')).toBeUndefined();
  });
});
