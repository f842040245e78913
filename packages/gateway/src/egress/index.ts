export {
  type AllowList,
  type AllowListEntryCheck,
  createAllowList,
  parseAllowListEntry,
} from './allow-list.js';
export { loadAllowList, saveAllowList } from './allow-list-store.js';
export { type AllowListSync, type AllowListSyncOptions, followAllowList } from './allow-list-sync.js';
export { type AddressClass, classifyAddress } from './classify-address.js';
export {
  createEgressAgent,
  createEgressDispatcher,
  type EgressAgentOptions,
  EgressDispatcher,
  guardedLookup,
} from './egress-agent.js';
export { describeRefusal, type EgressRefusal, EgressRefusedError } from './egress-error.js';
export { createSsrfPolicy, type EgressVerdict, type SsrfPolicy } from './ssrf-policy.js';
