import type { ChatInput } from '@keyhold/core';
import { IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS } from './estimate-tokens.js';

/**
 * Counts tokens with a real tokenizer when a provider reported none (an aborted or cut stream, a
 * provider that sends no usage). The count is marked `estimated` on the usage event: it uses
 * OpenAI's `o200k_base` encoding for every provider, exact for current OpenAI models and an
 * approximation for others (each provider has its own tokenizer and most do not publish it).
 *
 * `gpt-tokenizer` ships its encodings in the package (no download at run time); it is loaded on
 * first use only, since most calls report their usage and never need it.
 */
type Encoder = { countTokens(text: string): number };
let encoder: Promise<Encoder> | undefined;

function loadEncoder(): Promise<Encoder> {
  encoder ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => ({ countTokens: m.countTokens }));
  return encoder;
}

/** Tokens of a piece of generated text. */
export async function countTextTokens(text: string): Promise<number> {
  if (text === '') return 0;
  return (await loadEncoder()).countTokens(text);
}

/** Tokens of a chat prompt: every text counted, plus the template overhead and images as estimated. */
export async function countChatInputTokens(input: ChatInput): Promise<number> {
  const { countTokens } = await loadEncoder();
  let tokens = 0;
  for (const message of input.messages) {
    tokens += MESSAGE_OVERHEAD_TOKENS;
    const content = message.content;
    if (typeof content === 'string') tokens += countTokens(content);
    else if (Array.isArray(content)) {
      for (const part of content) tokens += part.type === 'text' ? countTokens(part.text) : IMAGE_TOKENS;
    }
    if (message.role === 'assistant' && message.toolCalls) {
      for (const call of message.toolCalls) tokens += countTokens(call.name) + countTokens(call.arguments);
    }
  }
  for (const tool of input.tools ?? []) {
    tokens += countTokens(`${tool.name} ${tool.description ?? ''} ${JSON.stringify(tool.parameters)}`);
  }
  return tokens;
}
