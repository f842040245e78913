import type { FinishReason } from '../../types/index.js';

/** Finish reasons that mean Google's filters stopped the answer. */
const FILTERED = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/**
 * Maps a Gemini `finishReason` to the neutral one. Gemini has no tool-call reason: an answer with
 * function calls ends with `STOP`, so `hasToolCalls` turns that into `tool_calls`.
 * https://ai.google.dev/api/generate-content#FinishReason
 */
export function mapGeminiFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'STOP':
      return hasToolCalls ? 'tool_calls' : 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'MALFORMED_FUNCTION_CALL':
      return 'error';
    default:
      if (reason !== undefined && FILTERED.has(reason)) return 'content_filter';
      // FINISH_REASON_UNSPECIFIED, LANGUAGE, OTHER, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS,
      // NO_IMAGE… and reasons added later.
      return 'other';
  }
}
