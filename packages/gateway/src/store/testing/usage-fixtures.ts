import { randomUUID } from 'node:crypto';
import type { Insertable, Kysely } from 'kysely';
import type { Schema, UsageEventsTable } from '../schema.js';
import { rebuildUsageDaily } from './usage-rollup.js';

/** A usage event row as a test writes it. */
export interface FixtureEvent {
  requestId: string;
  attempt: number;
  tenantId: string;
  userId: string | null;
  virtualKeyId: string | null;
  credentialId: string | null;
  keySource: string;
  provider: string;
  model: string;
  operation: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteInputTokens: number;
  reasoningTokens: number;
  costMicros: number;
  latencyMs: number;
  status: 'ok' | 'error';
  estimated: boolean;
  priced: boolean;
  errorClass: string | null;
  upstreamStatus: number | null;
  occurredAt: Date;
}

/** A small deterministic generator (mulberry32), so a failing case can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FixtureTenant {
  id: string;
  users: string[];
  keys: string[];
  credentials: string[];
}

export function fixtureTenant(users = 3): FixtureTenant {
  return {
    id: randomUUID(),
    users: Array.from({ length: users }, () => randomUUID()),
    keys: Array.from({ length: users }, () => randomUUID()),
    credentials: [randomUUID(), randomUUID()],
  };
}

export const FIXTURE_MODELS = [
  { provider: 'openai', model: 'gpt-4o-mini', operation: 'chat' },
  { provider: 'openai', model: 'text-embedding-3-small', operation: 'embedding' },
  { provider: 'anthropic', model: 'claude-sonnet-4-5', operation: 'chat' },
  // A name that needs quoting in CSV and would be a formula in a spreadsheet.
  { provider: 'custom', model: '=HYPERLINK("x","y"), v2', operation: 'chat' },
] as const;

/**
 * `count` events of `tenant` spread at random over `[start, start + days)`, every dimension
 * varied, some errors, estimates, cache and reasoning tokens, and a few retried attempts.
 */
export function fixtureEvents(
  tenant: FixtureTenant,
  options: { count: number; start: Date; days: number; seed: number },
): FixtureEvent[] {
  const random = seededRandom(options.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const events: FixtureEvent[] = [];
  for (let i = 0; i < options.count; i++) {
    const model = pick(FIXTURE_MODELS);
    const u = Math.floor(random() * tenant.users.length);
    const headerKey = random() < 0.1;
    const input = Math.floor(random() * 5000);
    const output = model.operation === 'embedding' ? 0 : Math.floor(random() * 2000);
    const error = random() < 0.08;
    const request = `req-${options.seed}-${i}`;
    const attempts = random() < 0.05 ? 2 : 1;
    const at = options.start.getTime() + Math.floor(random() * options.days * 86_400_000);
    for (let attempt = 0; attempt < attempts; attempt++) {
      events.push({
        requestId: request,
        attempt,
        tenantId: tenant.id,
        userId: random() < 0.1 ? null : tenant.users[u]!,
        virtualKeyId: tenant.keys[u]!,
        credentialId: headerKey ? null : pick(tenant.credentials),
        keySource: headerKey ? 'header' : pick(['tenant', 'user', 'group']),
        provider: model.provider,
        model: model.model,
        operation: model.operation,
        inputTokens: input,
        outputTokens: output,
        cachedInputTokens: Math.floor(input * random() * 0.5),
        cacheWriteInputTokens: random() < 0.2 ? Math.floor(input * 0.1) : 0,
        reasoningTokens: Math.floor(output * random() * 0.3),
        costMicros: Math.floor(random() * 50_000),
        priced: true,
        estimated: random() < 0.1,
        latencyMs: Math.floor(random() * 3000),
        status: error ? 'error' : 'ok',
        errorClass: error ? 'upstream_error' : null,
        upstreamStatus: error ? 500 : null,
        occurredAt: new Date(at + attempt * 1500),
      });
    }
  }
  return events;
}

/** Inserts events (system scope) and recomputes the daily rollup from them. */
export async function loadUsage(db: Kysely<Schema>, events: readonly FixtureEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    await db
      .insertInto('usageEvents')
      .values(events.slice(i, i + 500) as Insertable<UsageEventsTable>[])
      .execute();
  }
  await rebuildUsageDaily(db);
}
