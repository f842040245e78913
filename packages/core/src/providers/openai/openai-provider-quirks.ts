/**
 * Where the OpenAI-compatible providers differ on the request side, in one place.
 */
export interface OpenAIRequestQuirks {
  /**
   * OpenAI's reasoning models reject `max_tokens` ("Use 'max_completion_tokens' instead"), so
   * OpenAI itself gets `max_completion_tokens`; the compatible family mostly knows only `max_tokens`.
   */
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /**
   * Whether to send `stream_options: { include_usage: true }`. Mistral and Perplexity report
   * usage on their last chunk without it and are not documented to accept it.
   */
  streamUsageOption: boolean;
}

const DEFAULT: OpenAIRequestQuirks = { maxTokensField: 'max_tokens', streamUsageOption: true };

const BY_PROVIDER: Record<string, Partial<OpenAIRequestQuirks>> = {
  openai: { maxTokensField: 'max_completion_tokens' },
  azure: { maxTokensField: 'max_completion_tokens' },
  mistral: { streamUsageOption: false },
  perplexity: { streamUsageOption: false },
};

export function quirksOf(provider: string): OpenAIRequestQuirks {
  return { ...DEFAULT, ...BY_PROVIDER[provider] };
}
