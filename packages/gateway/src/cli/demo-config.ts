import { generateVirtualKey } from '../auth/virtual-key.js';
import type { GatewayConfig } from '../routing/config-schema.js';

/**
 * The configuration `keyhold serve` starts with when given none: one demo tenant, a fresh
 * virtual key, and the offline `fake` provider as the operator's key, so a newcomer sees a
 * call work with no account anywhere. Returns the key so it can be shown once.
 */
export function demoConfig(): { config: GatewayConfig; virtualKey: string } {
  const { key, hash, prefix, hint } = generateVirtualKey();
  const config: GatewayConfig = {
    mode: 'shared',
    models: { aliases: { demo: 'fake/echo-1' }, list: ['fake/echo-1'] },
    // The fake provider accepts any key; this is not a secret.
    operatorKeys: [{ id: 'operator-fake', provider: 'fake', secrets: { apiKey: 'fake-demo-key' } }],
    tenants: [
      {
        id: 'demo',
        name: 'Demo tenant',
        settings: { allowOperatorFallback: true, defaultModel: 'demo' },
        virtualKeys: [{ id: 'demo-key', hash, prefix, hint }],
      },
    ],
  };
  return { config, virtualKey: key };
}
