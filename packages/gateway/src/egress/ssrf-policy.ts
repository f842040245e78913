import { isIP } from 'node:net';
import { type AllowList, createAllowList, normaliseHost } from './allow-list.js';
import { classifyAddress } from './classify-address.js';
import { describeRefusal, type EgressRefusal } from './egress-error.js';

export type EgressVerdict = { ok: true } | { ok: false; reason: EgressRefusal; message: string };

/**
 * The egress policy for tenant-supplied endpoints (vLLM / custom `baseURL`, Azure `endpoint`):
 * checked when an endpoint is saved (`checkUrl`) and again for every address DNS returns when a
 * connection is opened (`checkAddress`, used by `createEgressAgent`), so a name that later
 * resolves somewhere else (DNS rebinding) is still refused.
 *
 * The allow-list is held in memory and replaced whole (`setAllowList`) when the operator changes
 * it; it is stored in the database (`egress/allow-list-store.ts`).
 */
export interface SsrfPolicy {
  allowList(): readonly string[];
  setAllowList(entries: readonly string[]): void;
  /** Save-time check of an endpoint URL. */
  checkUrl(url: string): EgressVerdict;
  /** Connect-time check of one resolved address of `hostname`. */
  checkAddress(address: string, hostname: string): EgressVerdict;
}

// Names that always mean this machine or a metadata service, whatever DNS says.
const LOOPBACK_NAMES = /^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)$|\.localhost$/;
const METADATA_NAMES =
  /^(metadata|metadata\.google\.internal|metadata\.goog|instance-data|instance-data\.ec2\.internal)$/;

/**
 * @example
 * const policy = createSsrfPolicy({ allowList: await loadAllowList(db) });
 * policy.checkUrl('http://169.254.169.254/'); // { ok: false, reason: 'scheme', … }
 */
export function createSsrfPolicy(options: { allowList?: readonly string[] } = {}): SsrfPolicy {
  let list: AllowList = createAllowList(options.allowList);
  const refuse = (reason: EgressRefusal): EgressVerdict => ({
    ok: false,
    reason,
    message: describeRefusal(reason),
  });
  const checkHost = (host: string): EgressVerdict => {
    if (isIP(host) !== 0) {
      const cls = classifyAddress(host);
      return cls === 'public' ? { ok: true } : refuse(cls);
    }
    if (LOOPBACK_NAMES.test(host)) return refuse('loopback');
    if (METADATA_NAMES.test(host)) return refuse('metadata');
    return { ok: true };
  };
  return {
    allowList: () => list.entries,
    setAllowList(entries) {
      list = createAllowList(entries);
    },
    checkUrl(text) {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return refuse('invalid_url');
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return refuse('scheme');
      if (url.username !== '' || url.password !== '') return refuse('userinfo');
      // WHATWG URL parsing already turned decimal, octal, hex and shortened IPv4 forms
      // (2130706433, 0x7f.1, 0177.0.0.1, 127.1) into dotted quads and IPv6 into its canonical form:
      // undici parses the same way, so what is checked here is what would be dialled.
      const host = normaliseHost(url.hostname);
      if (host === '') return refuse('invalid_url');
      if (list.allowsHost(host)) return { ok: true };
      if (url.protocol === 'http:') return refuse('scheme');
      return checkHost(host);
    },
    checkAddress(address, hostname) {
      if (list.allowsHost(normaliseHost(hostname)) || list.allowsAddress(address)) return { ok: true };
      const cls = classifyAddress(address);
      return cls === 'public' ? { ok: true } : refuse(cls);
    },
  };
}
