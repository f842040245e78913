import type { ChatInput, EmbedInput } from '@keyhold/core';

/**
 * Cheap token estimates for reservations, made before a call without a tokenizer.
 *
 * Rule: one token per 4 characters of text (OpenAI's rule of thumb for English), plus 4 tokens per
 * message for the chat template, plus {@link IMAGE_TOKENS} per image. Text is the message
 * contents, tool-call arguments and tool definitions (name, description, JSON schema).
 *
 * The estimate is only what is reserved against budgets and tokens-per-minute until the call
 * ends; the real count replaces it then. It can under-count (code, non-Latin scripts run nearer
 * 1–3 characters per token); concurrent calls can then overshoot a hard budget by at most the
 * difference, never by a whole call, since every reservation also holds the full output allowance.
 */
export const CHARS_PER_TOKEN = 4;

/** Tokens per message for the chat template (role markers), as OpenAI's cookbook counts them. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/**
 * What one image is reserved as: about Anthropic's ~1,600 tokens for a 1.15-megapixel image
 * (https://docs.claude.com/en/docs/build-with-claude/vision#evaluate-image-size), above OpenAI's
 * 765 for a high-detail 1024×1024 tile set.
 */
export const IMAGE_TOKENS = 1_600;

/** Estimated prompt tokens of a chat request (see the rule above). */
export function estimateChatInputTokens(input: ChatInput): number {
  let chars = 0;
  let fixed = 0;
  for (const message of input.messages) {
    fixed += MESSAGE_OVERHEAD_TOKENS;
    const content = message.content;
    if (typeof content === 'string') chars += content.length;
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type === 'text') chars += part.text.length;
        else fixed += IMAGE_TOKENS;
      }
    }
    if (message.role === 'assistant' && message.toolCalls) {
      for (const call of message.toolCalls) chars += call.name.length + call.arguments.length;
    }
  }
  if (input.tools) {
    for (const tool of input.tools) {
      chars += tool.name.length + (tool.description?.length ?? 0) + JSON.stringify(tool.parameters).length;
    }
  }
  return Math.ceil(chars / CHARS_PER_TOKEN) + fixed;
}

/** Estimated tokens of an embeddings request. */
export function estimateEmbedInputTokens(input: EmbedInput): number {
  const texts = typeof input.input === 'string' ? [input.input] : input.input;
  let chars = 0;
  for (const text of texts) chars += text.length;
  return Math.ceil(chars / CHARS_PER_TOKEN) + texts.length;
}
