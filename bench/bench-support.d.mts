export function benchTenant(credential: Record<string, unknown>): {
  name: string;
  settings: Record<string, unknown>;
  credential: Record<string, unknown>;
};
