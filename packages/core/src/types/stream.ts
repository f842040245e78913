import type { FinishReason, Usage } from './chat.js';

/**
 * One event of a streamed chat. Order: `start`, then any deltas, then `usage` (when the provider
 * reports it) and `finish` last. A tool call's first `tool-call-delta` for an index carries its
 * `id` and `name`; later ones carry only argument text.
 */
export type StreamEvent =
  | { type: 'start'; id: string; model: string }
  | { type: 'text-delta'; delta: string }
  | { type: 'reasoning-delta'; delta: string }
  | { type: 'tool-call-delta'; index: number; id?: string; name?: string; argumentsDelta: string }
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; finishReason: FinishReason };
