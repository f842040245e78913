import type { AddressClass } from './classify-address.js';

/** Why an endpoint or a connection is refused. */
export type EgressRefusal = Exclude<AddressClass, 'public'> | 'scheme' | 'userinfo' | 'invalid_url';

/**
 * A connection the egress guard refused at connect time (after DNS resolution). The message
 * names the host and the class of address, never a URL's path or query (a query can carry a key).
 */
export class EgressRefusedError extends Error {
  readonly code = 'egress_refused';
  constructor(
    readonly host: string,
    readonly reason: EgressRefusal,
  ) {
    super(`Egress to ${host} refused: ${describeRefusal(reason)}`);
    this.name = 'EgressRefusedError';
  }
}

/** A short human description of a refusal, for error messages. */
export function describeRefusal(reason: EgressRefusal): string {
  switch (reason) {
    case 'scheme':
      return 'the URL must use https (http only for allow-listed hosts)';
    case 'userinfo':
      return 'the URL must not contain a user name or password';
    case 'invalid_url':
      return 'not a valid absolute URL';
    case 'private':
      return 'the address is on a private network';
    case 'loopback':
      return 'the address is a loopback address';
    case 'link_local':
      return 'the address is link-local';
    case 'metadata':
      return 'the address is a cloud metadata service';
    case 'unspecified':
      return 'the address is unspecified (0.0.0.0 or ::)';
    case 'reserved':
      return 'the address is reserved or not routable';
  }
}
