import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ContextLengthError,
  InvalidRequestError,
  PermissionError,
  ProviderUnavailableError,
  RateLimitError,
} from '../../errors.js';
import { errorFromStatus } from '../http-errors.js';
import { openAIStreamError, readOpenAIError, refineOpenAIError } from './openai-errors.js';
import { fixtureJson, fixtureText } from './testing/openai-fixtures.js';

describe('readOpenAIError', () => {
  it('keeps OpenAI’s code and never the message', () => {
    const body = JSON.parse(fixtureText('openai-401.json').replace('{{KEY_ECHO}}', 'sk-proj-**********abcd'));
    const info = readOpenAIError(body);
    expect(info).toEqual({ providerCode: 'invalid_api_key' });
    expect(JSON.stringify(info)).not.toContain('sk-proj');
  });

  it('spots context length by code (OpenAI, Groq) and by message (DeepSeek, Mistral)', () => {
    expect(readOpenAIError(fixtureJson('openai-context-length.json'))).toEqual({
      providerCode: 'context_length_exceeded',
      contextLength: true,
    });
    expect(readOpenAIError(fixtureJson('groq-context-length.json')).contextLength).toBe(true);
    expect(readOpenAIError(fixtureJson('deepseek-context-length.json'))).toEqual({
      providerCode: 'invalid_request_error',
      contextLength: true,
    });
    expect(readOpenAIError(fixtureJson('mistral-context-length.json'))).toEqual({
      providerCode: 'invalid_request_error',
      contextLength: true,
    });
  });

  it('reads Mistral’s top-level shapes and xAI’s string error', () => {
    expect(readOpenAIError(fixtureJson('mistral-401.json'))).toEqual({});
    expect(readOpenAIError(fixtureJson('mistral-extra-forbidden.json'))).toEqual({
      providerCode: 'invalid_request_error',
    });
    expect(readOpenAIError(fixtureJson('mistral-429.json'))).toEqual({ providerCode: '1300' });
    expect(
      readOpenAIError({
        code: 'Client specified an invalid argument',
        error: "This model's maximum prompt length is 131072 but the request contains 140000 tokens.",
      }).providerCode,
    ).toBe('Client specified an invalid argument');
    expect(readOpenAIError('not json')).toEqual({});
    expect(readOpenAIError(null)).toEqual({});
  });
});

describe('refineOpenAIError', () => {
  it('turns a 429 insufficient_quota into a permanent PermissionError', () => {
    const rateLimited = errorFromStatus(
      'openai',
      429,
      {},
      readOpenAIError(fixtureJson('openai-insufficient-quota.json')),
    );
    const refined = refineOpenAIError('openai', rateLimited);
    expect(refined).toBeInstanceOf(PermissionError);
    expect((refined as PermissionError).transient).toBe(false);
    expect((refined as PermissionError).upstreamStatus).toBe(429);
  });
  it('leaves a real rate limit alone', () => {
    const rateLimited = errorFromStatus('openai', 429, {}, readOpenAIError(fixtureJson('openai-429.json')));
    expect(refineOpenAIError('openai', rateLimited)).toBe(rateLimited);
  });
});

describe('openAIStreamError', () => {
  it.each([
    [
      { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
      RateLimitError,
    ],
    [
      { error: { message: 'quota', type: 'insufficient_quota', code: 'insufficient_quota' } },
      PermissionError,
    ],
    [
      { error: { message: 'The server had an error', type: 'server_error', code: null } },
      ProviderUnavailableError,
    ],
    [
      { error: { message: 'bad key', type: 'invalid_request_error', code: 'invalid_api_key' } },
      AuthenticationError,
    ],
    [
      { error: { message: 'too long', type: 'invalid_request_error', code: 'context_length_exceeded' } },
      ContextLengthError,
    ],
    // OpenRouter: an HTTP-like numeric code on a chunk.
    [{ id: 'gen-1', error: { code: 502, message: 'Provider returned error' } }, ProviderUnavailableError],
    [{ id: 'gen-1', error: { code: 429, message: 'Rate limited upstream' } }, RateLimitError],
    // vLLM: a top-level error object.
    [
      { object: 'error', message: 'bad', type: 'BadRequestError', param: null, code: 400 },
      InvalidRequestError,
    ],
  ])('%j → %o', (chunk, type) => {
    expect(openAIStreamError('openai', chunk)).toBeInstanceOf(type);
  });
});
