import { describe, expect, it } from 'vitest';
import { toCredential } from './credential.js';
import { Secret } from './secret.js';

const KEY = 'sk-credential-test-0123456789abcdef';

describe('toCredential', () => {
  it('wraps a bare key and splits named fields by the catalogue', () => {
    const bare = toCredential('openai', KEY);
    expect(bare.secrets.apiKey?.reveal()).toBe(KEY);
    expect(Object.isFrozen(bare) && Object.isFrozen(bare.secrets) && Object.isFrozen(bare.fields)).toBe(true);
    const bedrock = toCredential('bedrock', {
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: KEY,
      region: 'eu-west-1',
    });
    expect(Object.keys(bedrock.secrets).sort()).toEqual(['accessKeyId', 'secretAccessKey']);
    expect(bedrock.fields).toEqual({ region: 'eu-west-1' });
  });

  it('passes a credential it made on as it is, for the same provider', () => {
    const made = toCredential('azure', { apiKey: KEY, endpoint: 'https://x.openai.azure.com' });
    expect(toCredential('azure', made)).toBe(made);
    // For another provider it is rebuilt, never reused.
    const other = toCredential('openai', made);
    expect(other).not.toBe(made);
    expect(other.provider).toBe('openai');
    expect(other.secrets.apiKey?.reveal()).toBe(KEY);
  });

  it('copies a credential-shaped object made elsewhere, its secrets as Secrets', () => {
    const foreign = {
      provider: 'openai',
      secrets: { apiKey: KEY },
      fields: { baseURL: 'https://a.example/v1' },
    };
    const copied = toCredential('openai', foreign as never);
    expect(copied).not.toBe(foreign);
    expect(copied.secrets.apiKey).toBeInstanceOf(Secret);
    expect(copied.secrets.apiKey?.reveal()).toBe(KEY);
    expect(copied.fields).toEqual({ baseURL: 'https://a.example/v1' });
    expect(JSON.stringify(copied)).not.toContain(KEY);
  });
});
