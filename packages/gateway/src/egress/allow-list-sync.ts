import type { Kysely } from 'kysely';
import type { DirectoryChange } from '../routing/directory.js';
import { loadAllowList } from './allow-list-store.js';
import type { SsrfPolicy } from './ssrf-policy.js';

export interface AllowListSyncOptions {
  /** Where change notices arrive: the store directory's `subscribe` (LISTEN/NOTIFY underneath). */
  subscribe(listener: (change: DirectoryChange) => void): () => void;
  // biome-ignore lint/suspicious/noExplicitAny: reads the allow-list table of any store schema.
  db: Kysely<any>;
  policy: SsrfPolicy;
  /**
   * Called when a reload removed entries: connections already open to a host that is no longer
   * allowed must be dropped (`EgressDispatcher.reset`), since the policy is checked on connect.
   */
  onEntriesRemoved?: () => void;
  /** Told when a reload fails; the policy keeps its previous list until the next notice. */
  onError?: (error: Error) => void;
}

export interface AllowListSync {
  /** Resolves once the reads started so far have settled (the first one: at start). */
  settled(): Promise<void>;
  close(): void;
}

/**
 * Keeps this instance's egress policy in step with the stored allow-list: an operator's change
 * on any instance is announced as `{ kind: 'egress-allow-list' }` (in the write's transaction),
 * and every instance reloads the list from the database when it hears it — and after a
 * reconnection of the change listener (`{ kind: 'all' }`), when notices may have been missed.
 * The notice carries no entries: the database is the one source of truth. The stored list is
 * read once at the start too (`settled()` resolves when it is in place).
 *
 * @example
 * const sync = followAllowList({ subscribe: directory.subscribe, db, policy: ssrf });
 */
export function followAllowList(options: AllowListSyncOptions): AllowListSync {
  let latest = 0;
  let pending: Promise<void> = Promise.resolve();
  // What this sync last applied (not the policy's list, which the instance that made the change
  // has already set itself): removals are found against it.
  let applied: readonly string[] = [];
  const reload = () => {
    const ticket = ++latest;
    const run = loadAllowList(options.db).then(
      (entries) => {
        // Two notices in quick succession: only the newest read may win.
        if (ticket !== latest) return;
        const removed = applied.some((entry) => !entries.includes(entry));
        applied = entries;
        options.policy.setAllowList(entries);
        if (removed) options.onEntriesRemoved?.();
      },
      (error: unknown) => {
        options.onError?.(error instanceof Error ? error : new Error('allow-list reload failed'));
      },
    );
    pending = pending.then(() => run);
  };
  // Subscribed before the first read, so no change can fall between the two.
  const unsubscribe = options.subscribe((change) => {
    if (change.kind === 'egress-allow-list' || change.kind === 'all') reload();
  });
  reload();
  return {
    settled: () => pending,
    close: unsubscribe,
  };
}
