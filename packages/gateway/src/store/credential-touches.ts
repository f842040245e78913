import type { Kysely } from 'kysely';
import type { Schema } from './schema.js';

export interface CredentialTouches {
  /** Records that a credential served a call now. Never waits, never throws. */
  touch(credentialId: string): void;
  /**
   * Counts the batches handed to the database. A credential touched once in the current
   * generation need not be touched again until it changes: the batch writes one time for all.
   */
  readonly generation: number;
  /** Writes what is pending now (tests, shutdown). */
  flush(): Promise<void>;
  /** Flushes and stops the timer. */
  close(): Promise<void>;
}

/**
 * Batched `last_used_at` updates, off the request path: a call only adds its credential id to a
 * set; every `intervalMs` one `UPDATE … WHERE id IN (…)` writes the whole batch. A failed write
 * is reported and dropped (a last-used time is informational; it must never fail or slow a call).
 */
export function createCredentialTouches(
  db: Kysely<Schema>,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): CredentialTouches {
  // Epoch milliseconds: a touch on the request path allocates nothing but the map entry.
  let pending = new Map<string, number>();
  let writing: Promise<void> = Promise.resolve();
  let closed = false;
  let generation = 0;

  const flush = (): Promise<void> => {
    if (pending.size === 0) return writing;
    const batch = pending;
    pending = new Map();
    generation++;
    // One timestamp per batch: the newest use of any credential in it.
    let newest = 0;
    for (const time of batch.values()) if (time > newest) newest = time;
    const at = new Date(newest);
    const ids = [...batch.keys()];
    writing = writing
      .then(async () => {
        for (let i = 0; i < ids.length; i += 500) {
          await db
            .updateTable('credentials')
            .set({ lastUsedAt: at })
            .where('id', 'in', ids.slice(i, i + 500))
            .execute();
        }
      })
      .catch((error: unknown) => options.onError?.(error));
    return writing;
  };

  const timer = setInterval(() => void flush(), options.intervalMs ?? 5_000);
  timer.unref();

  return {
    touch(credentialId) {
      if (!closed) pending.set(credentialId, Date.now());
    },
    get generation() {
      return generation;
    },
    flush,
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
    },
  };
}
