/**
 * The parts of OpenAI's Chat Completions wire format that Keyhold reads, including the variants
 * the OpenAI-compatible family sends (see the provider notes in `from-openai-response.ts`).
 */

export interface OpenAIToolCallWire {
  index?: number;
  id?: string;
  /** Mistral omits `type`. */
  type?: 'function';
  function?: { name?: string; arguments?: string | null };
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
  /** Groq. */
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

export interface OpenAIChatWire {
  id?: string;
  model?: string;
  choices?: OpenAIChoiceWire[];
  usage?: OpenAIUsageWire | null;
  /** Groq repeats usage here on its last chunk. */
  x_groq?: { usage?: OpenAIUsageWire };
  error?: { message?: string; type?: string; code?: string | number | null; param?: string | null };
}
