import type { FinishReason } from '../../types/index.js';

/**
 * OpenAI's `finish_reason` (and the compatible family's variants) → the neutral finish reason.
 * Some compatible servers (Ollama, older vLLM) answer `stop` even when the model called tools, so
 * tool calls win over `stop`.
 * https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
export function mapOpenAIFinishReason(
  reason: string | null | undefined,
  hasToolCalls: boolean,
): FinishReason {
  switch (reason) {
    case 'stop':
    case 'eos':
      return hasToolCalls ? 'tool_calls' : 'stop';
    case 'length':
    case 'model_length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    // OpenRouter ends a failed generation with `error`; DeepSeek with `insufficient_system_resource`.
    case 'error':
    case 'insufficient_system_resource':
      return 'error';
    default:
      return hasToolCalls ? 'tool_calls' : 'other';
  }
}
