import { describe, expect, it } from 'vitest';
import { checkCredential, getProviderInfo, PROVIDERS, toCredential } from '../index.js';

describe('provider catalogue', () => {
  it('lists every provider of the design with a wire format and credential fields', () => {
    const ids = PROVIDERS.map((p) => p.id);
    for (const id of [
      'openai',
      'anthropic',
      'gemini',
      'azure',
      'bedrock',
      'mistral',
      'groq',
      'together',
      'fireworks',
      'deepseek',
      'xai',
      'openrouter',
      'perplexity',
      'ovhcloud',
      'berget',
      'vllm',
      'ollama',
      'openai-compatible',
      'fake',
    ]) {
      expect(ids).toContain(id);
    }
    for (const p of PROVIDERS) expect(p.credentialFields.length).toBeGreaterThan(0);
  });

  it('names the missing field of an incomplete credential', () => {
    expect(
      checkCredential(
        toCredential('azure', {
          apiKey: 'k-123456789',
          endpoint: 'https://r.openai.azure.com',
          apiVersion: '2024-10-21',
        }),
      ),
    ).toEqual({
      ok: false,
      field: 'deployment',
      reason: 'missing',
    });
    expect(checkCredential(toCredential('vllm', 'k-123456789'))).toEqual({
      ok: false,
      field: 'baseURL',
      reason: 'missing',
    });
    expect(checkCredential(toCredential('bedrock', { accessKeyId: 'AKIA123', region: 'us-east-1' }))).toEqual(
      {
        ok: false,
        field: 'secretAccessKey',
        reason: 'missing',
      },
    );
    expect(
      checkCredential(toCredential('bedrock', { apiKey: 'bedrock-key-1', region: 'us-east-1' })),
    ).toEqual({ ok: true });
  });

  it('rejects malformed non-secret fields', () => {
    expect(
      checkCredential(
        toCredential('azure', {
          apiKey: 'k',
          endpoint: 'https://user@evil.example',
          apiVersion: '2024-10-21',
          deployment: 'd',
        }),
      ),
    ).toMatchObject({
      ok: false,
      field: 'endpoint',
    });
    expect(checkCredential(toCredential('bedrock', { apiKey: 'k', region: 'mars' }))).toMatchObject({
      ok: false,
      field: 'region',
    });
  });

  it('keeps secrets as Secrets and fields as plain strings', () => {
    const c = toCredential('bedrock', {
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'very-secret-value',
      region: 'eu-west-1',
    });
    expect(Object.keys(c.secrets).sort()).toEqual(['accessKeyId', 'secretAccessKey']);
    expect(c.fields).toEqual({ region: 'eu-west-1' });
    expect(JSON.stringify(c)).not.toContain('very-secret');
    expect(getProviderInfo('gemini')?.wireFormat).toBe('gemini');
  });
});
