import { type Credential, type KeyMaterial, toCredential } from './credential.js';

export interface KeyholdConfig {
  /** Keys per provider, read once at start-up (e.g. from a config file). */
  keys?: Readonly<Record<string, KeyMaterial>>;
  /** Environment to read provider variables from; defaults to `process.env`. Tests pass their own. */
  env?: Readonly<Record<string, string | undefined>>;
}

interface State {
  keys: Map<string, Credential>;
  env: Readonly<Record<string, string | undefined>> | undefined;
}

let state: State = { keys: new Map(), env: undefined };

/** Sets the library configuration (the fourth link of the key chain). Replaces any earlier one. */
export function configure(config: KeyholdConfig): void {
  state = {
    keys: new Map(Object.entries(config.keys ?? {}).map(([p, m]) => [p, toCredential(p, m)])),
    env: config.env,
  };
}

export function configuredCredential(provider: string): Credential | undefined {
  return state.keys.get(provider);
}

export function configuredEnv(): Readonly<Record<string, string | undefined>> {
  return state.env ?? process.env;
}
