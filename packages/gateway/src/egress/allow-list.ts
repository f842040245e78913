import { BlockList, isIP } from 'node:net';

/**
 * The operator's egress allow-list: hosts that tenant-supplied endpoints may reach even though
 * the policy would refuse them (a vLLM on the private network, a local Ollama), and that may be
 * reached over plain http. An entry is
 * - a host name, matched exactly (`vllm.internal`), or `*.example.internal` for its subdomains;
 * - an IP address (`10.0.0.7`, `::1`);
 * - an IP range in CIDR form (`10.20.0.0/16`).
 */
export interface AllowList {
  /** The entries in their normalised form. */
  readonly entries: readonly string[];
  /** Whether a host name (as a URL gives it, without brackets) is named by the list. */
  allowsHost(hostname: string): boolean;
  /** Whether an IP address is named by the list (directly or by a range). */
  allowsAddress(address: string): boolean;
}

export type AllowListEntryCheck = { ok: true; entry: string } | { ok: false; message: string };

const HOST_NAME =
  /^(\*\.)?(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** Checks and normalises one entry (lower case, no trailing dot, no brackets). */
export function parseAllowListEntry(raw: string): AllowListEntryCheck {
  let text = raw.trim().toLowerCase();
  if (text.startsWith('[') && text.includes(']')) text = text.replace('[', '').replace(']', '');
  if (text.endsWith('.')) text = text.slice(0, -1);
  const slash = text.indexOf('/');
  if (slash !== -1) {
    const network = text.slice(0, slash);
    const prefix = text.slice(slash + 1);
    const family = isIP(network);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
      return { ok: false, message: `"${raw}" is not a host name, an IP address or a CIDR range` };
    }
    return { ok: true, entry: `${network}/${Number(prefix)}` };
  }
  if (isIP(text) !== 0 || HOST_NAME.test(text)) return { ok: true, entry: text };
  return { ok: false, message: `"${raw}" is not a host name, an IP address or a CIDR range` };
}

/** Builds an allow-list from entries; entries that do not parse are ignored (they were checked on save). */
export function createAllowList(raw: readonly string[] = []): AllowList {
  const entries = [...new Set(raw.map(parseAllowListEntry).flatMap((c) => (c.ok ? [c.entry] : [])))].sort();
  const addresses = new BlockList();
  const names = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    const slash = entry.indexOf('/');
    if (slash !== -1) {
      const network = entry.slice(0, slash);
      addresses.addSubnet(network, Number(entry.slice(slash + 1)), isIP(network) === 6 ? 'ipv6' : 'ipv4');
    } else if (isIP(entry) !== 0) {
      addresses.addAddress(entry, isIP(entry) === 6 ? 'ipv6' : 'ipv4');
    } else if (entry.startsWith('*.')) {
      suffixes.push(entry.slice(1));
    } else {
      names.add(entry);
    }
  }
  const allowsAddress = (address: string): boolean => {
    const family = isIP(address);
    return family !== 0 && addresses.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
  return Object.freeze({
    entries,
    allowsAddress,
    allowsHost(hostname: string): boolean {
      const host = normaliseHost(hostname);
      if (isIP(host) !== 0) return allowsAddress(host);
      return names.has(host) || suffixes.some((suffix) => host.endsWith(suffix));
    },
  });
}

/** A URL host name as compared: lower case, no brackets, no trailing dot. */
export function normaliseHost(hostname: string): string {
  let host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host;
}
