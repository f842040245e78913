import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script and its SHA-1, for EVALSHA. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs a script by its SHA, loading it with EVAL the first time a server has not seen it
 * (after a restart or failover the script cache is empty). A script runs atomically: no other
 * command interleaves with it, on any client.
 */
export async function runLua(
  redis: Redis,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
) {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}

/** Part of a Redis key from an id: ids are opaque, so anything but safe characters is escaped. */
export function keyPart(id: string): string {
  return encodeURIComponent(id);
}
