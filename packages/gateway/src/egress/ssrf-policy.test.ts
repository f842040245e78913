import { describe, expect, it } from 'vitest';
import { parseAllowListEntry } from './allow-list.js';
import { classifyAddress } from './classify-address.js';
import { createSsrfPolicy } from './ssrf-policy.js';

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.100.100.200', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.1.1', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2001:db8::1', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['not-an-ip', 'reserved'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

describe('SSRF policy: save-time URL check', () => {
  const policy = createSsrfPolicy();
  it.each([
    ['http://169.254.169.254/', 'scheme'],
    ['https://169.254.169.254/latest/meta-data', 'metadata'],
    ['https://[fd00:ec2::254]/', 'metadata'],
    ['https://metadata.google.internal/computeMetadata/v1/', 'metadata'],
    ['http://localhost:8000/v1', 'scheme'],
    ['https://localhost:8000/v1', 'loopback'],
    ['https://LOCALHOST./v1', 'loopback'],
    ['https://api.localhost/v1', 'loopback'],
    ['https://127.0.0.1/', 'loopback'],
    ['https://2130706433/', 'loopback'],
    ['https://0x7f.1/', 'loopback'],
    ['https://127.1/', 'loopback'],
    ['https://0177.0.0.1/', 'loopback'],
    ['https://0x7f000001/', 'loopback'],
    ['https://[::1]/', 'loopback'],
    ['https://[::ffff:127.0.0.1]/', 'loopback'],
    ['https://[::ffff:a9fe:a9fe]/', 'metadata'],
    ['https://10.0.0.5/v1', 'private'],
    ['https://172.16.3.4/v1', 'private'],
    ['https://192.168.0.10/', 'private'],
    ['https://[fc00::5]/', 'private'],
    ['https://169.254.10.10/', 'link_local'],
    ['https://[fe80::1]/', 'link_local'],
    ['https://0.0.0.0/', 'unspecified'],
    ['https://[::]/', 'unspecified'],
    ['https://user@api.example.com/', 'userinfo'],
    ['https://api.example.com:pw@127.0.0.1/', 'userinfo'],
    ['https://user:pass@api.example.com/', 'userinfo'],
    ['ftp://api.example.com/', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['gopher://127.0.0.1:6379/_', 'scheme'],
    ['http://api.example.com/v1', 'scheme'],
    ['not a url', 'invalid_url'],
    ['/relative/path', 'invalid_url'],
  ])('%s is refused (%s)', (url, reason) => {
    const verdict = policy.checkUrl(url);
    expect(verdict).toMatchObject({ ok: false, reason });
  });

  it.each([
    'https://api.example.com/v1',
    'https://my-resource.openai.azure.com',
    'https://8.8.8.8/v1',
    'https://[2606:4700:4700::1111]/',
  ])('%s is allowed', (url) => {
    expect(policy.checkUrl(url)).toEqual({ ok: true });
  });

  it('allow-listed hosts, addresses and ranges pass, over http too; nothing else does', () => {
    const allowed = createSsrfPolicy({
      allowList: ['vllm.internal', '*.corp.example', '127.0.0.1', '10.20.0.0/16', '[::1]'],
    });
    expect(allowed.checkUrl('http://vllm.internal:8000/v1')).toEqual({ ok: true });
    expect(allowed.checkUrl('http://a.b.corp.example/v1')).toEqual({ ok: true });
    expect(allowed.checkUrl('http://127.0.0.1:8000/v1')).toEqual({ ok: true });
    expect(allowed.checkUrl('http://2130706433:8000/v1')).toEqual({ ok: true });
    expect(allowed.checkUrl('https://10.20.5.5/v1')).toEqual({ ok: true });
    expect(allowed.checkUrl('http://[::1]:80/')).toEqual({ ok: true });
    expect(allowed.checkUrl('https://10.21.0.1/v1')).toMatchObject({ ok: false, reason: 'private' });
    expect(allowed.checkUrl('https://127.0.0.2/')).toMatchObject({ ok: false, reason: 'loopback' });
    expect(allowed.checkUrl('http://user@vllm.internal/')).toMatchObject({ ok: false, reason: 'userinfo' });
    expect(allowed.checkUrl('https://corp.example/')).toEqual({ ok: true });
    expect(allowed.checkUrl('http://corp.example/')).toMatchObject({ ok: false, reason: 'scheme' });
    allowed.setAllowList([]);
    expect(allowed.checkUrl('http://vllm.internal:8000/v1')).toMatchObject({ ok: false, reason: 'scheme' });
  });

  it('connect-time address check honours host names and ranges on the list', () => {
    const allowed = createSsrfPolicy({ allowList: ['vllm.internal', '10.20.0.0/16'] });
    expect(allowed.checkAddress('10.0.0.1', 'vllm.internal')).toEqual({ ok: true });
    expect(allowed.checkAddress('10.20.1.1', 'other.example')).toEqual({ ok: true });
    expect(allowed.checkAddress('::ffff:10.20.1.1', 'other.example')).toEqual({ ok: true });
    expect(allowed.checkAddress('10.0.0.1', 'other.example')).toMatchObject({ ok: false, reason: 'private' });
    expect(allowed.checkAddress('93.184.216.34', 'other.example')).toEqual({ ok: true });
  });

  it('parses allow-list entries and refuses garbage', () => {
    expect(parseAllowListEntry(' VLLM.Internal. ')).toEqual({ ok: true, entry: 'vllm.internal' });
    expect(parseAllowListEntry('10.0.0.0/8')).toEqual({ ok: true, entry: '10.0.0.0/8' });
    expect(parseAllowListEntry('[::1]')).toEqual({ ok: true, entry: '::1' });
    for (const bad of ['http://x', '10.0.0.0/33', 'a b', '', '*', 'x/8']) {
      expect(parseAllowListEntry(bad).ok, bad).toBe(false);
    }
  });
});
