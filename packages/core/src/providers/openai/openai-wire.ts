/**
 * The parts of OpenAI's Chat Completions and Embeddings wire format that Keyhold reads, including
 * the variants the OpenAI-compatible family and Azure send (see `from-openai-response.ts`).
 * https://platform.openai.com/docs/api-reference/chat/object
 */

export interface OpenAIToolCallWire {
  index?: number;
  id?: string | null;
  /** Mistral omits `type`. */
  type?: 'function';
  /** Arguments are JSON text; a few compatible servers send an object instead. */
  function?: { name?: string | null; arguments?: string | Record<string, unknown> | null };
}

/** Mistral's Magistral models send content as an array of thinking / text parts. */
export type OpenAIContentWire =
  | string
  | null
  | { type: string; text?: string; thinking?: { type: string; text?: string }[] }[];

export interface OpenAIUsageWire {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  /** DeepSeek's own spelling of cached input. */
  prompt_cache_hit_tokens?: number;
}

export interface OpenAIMessageWire {
  role?: string;
  content?: OpenAIContentWire;
  /** DeepSeek and xAI. */
  reasoning_content?: string | null;
  /** Groq, OpenRouter, Ollama. */
  reasoning?: string | null;
  tool_calls?: OpenAIToolCallWire[] | null;
  refusal?: string | null;
}

export interface OpenAIChoiceWire {
  index?: number;
  message?: OpenAIMessageWire;
  delta?: OpenAIMessageWire;
  finish_reason?: string | null;
}

/** OpenAI's error object; `code` is a number on vLLM and a numeric string on Azure. */
export interface OpenAIErrorWire {
  message?: unknown;
  type?: unknown;
  code?: unknown;
  param?: unknown;
}

export interface OpenAIChatWire {
  id?: string;
  /** `"error"` on vLLM's and Mistral's top-level error bodies. */
  object?: string;
  model?: string;
  choices?: OpenAIChoiceWire[];
  usage?: OpenAIUsageWire | null;
  /** Groq repeats usage here on its last chunk. */
  x_groq?: { usage?: OpenAIUsageWire };
  /** An error inside a 200 stream (OpenAI, OpenRouter, vLLM). */
  error?: OpenAIErrorWire | string;
}

export interface OpenAIEmbeddingWire {
  model?: string;
  data?: { index?: number; embedding?: unknown }[];
  usage?: { prompt_tokens?: number; total_tokens?: number };
}
