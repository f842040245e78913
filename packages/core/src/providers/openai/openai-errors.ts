import type { UpstreamErrorInfo } from '../http-errors.js';
import { mentionsContextLength } from '../http-errors.js';

/**
 * Reads OpenAI's error body `{"error":{"message","type","param","code"}}` (Azure's is the same
 * shape, with `code` as a string such as "401" or "content_filter"). Only the code or type is
 * kept; the message is read to recognise a context-length error and then dropped, because it can
 * quote the key ("Incorrect API key provided: sk-abc***wxyz").
 */
export function readOpenAIError(body: unknown): UpstreamErrorInfo {
  const error = (body as { error?: { message?: unknown; type?: unknown; code?: unknown } } | undefined)
    ?.error;
  if (!error || typeof error !== 'object') return {};
  const code = typeof error.code === 'string' ? error.code : undefined;
  const type = typeof error.type === 'string' ? error.type : undefined;
  const message = typeof error.message === 'string' ? error.message : undefined;
  return {
    providerCode: code ?? type,
    contextLength: code === 'context_length_exceeded' || mentionsContextLength(message),
  };
}
