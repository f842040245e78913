import type { ContentPart, ImagePart, Message, ToolCall } from '@keyhold/core';
import { isObject, MAX_JSON_DEPTH, nestsDeeperThan, own, type ParseResult, refuse } from './parse-result.js';

type Refusal = { ok: false; message: string; param?: string };

/** The image media types Anthropic accepts in a base64 source. */
const IMAGE_MEDIA_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/**
 * Maps the `messages` array of an Anthropic Messages request to neutral messages.
 *
 * - A user turn's `tool_result` blocks become `ToolMessage`s (the tool name is looked up from the
 *   earlier `tool_use` block with the same id); its text and image blocks become one
 *   `UserMessage`. Block order is kept: parts before a tool result are flushed as a user message
 *   first. (Anthropic requires tool results first in the turn, so in practice the tool messages
 *   come first.)
 * - An assistant turn's text blocks are joined into `content`; `tool_use` blocks become
 *   `toolCalls` with `arguments: JSON.stringify(input)`; `thinking` and `redacted_thinking`
 *   blocks are dropped, the neutral assistant message has no place for them.
 * - `tool_result.is_error` is validated and dropped: the neutral `ToolMessage` has no error flag,
 *   and the result's text already says what went wrong.
 * - Unsupported blocks (documents, files, server-tool blocks, images inside tool results) are
 *   refused with the path of the offending field rather than silently lost.
 *
 * See https://docs.claude.com/en/api/messages for the block shapes.
 */
export function parseAnthropicMessages(raw: unknown): ParseResult<Message[]> {
  if (!Array.isArray(raw)) return refuse('messages', 'must be an array of messages.');
  if (raw.length === 0) return refuse('messages', 'must contain at least one message.');
  const out: Message[] = [];
  const toolNames = new Map<string, string>();
  for (let i = 0; i < raw.length; i++) {
    const path = `messages.${i}`;
    const message: unknown = raw[i];
    if (!isObject(message)) return refuse(path, 'must be an object.');
    const role = own(message, 'role');
    const content = own(message, 'content');
    let result: Refusal | undefined;
    if (role === 'user') result = parseUserTurn(content, `${path}.content`, toolNames, out);
    else if (role === 'assistant') result = parseAssistantTurn(content, `${path}.content`, toolNames, out);
    else if (role === 'system') result = parseSystemTurn(content, `${path}.content`, out);
    else return refuse(`${path}.role`, 'must be "user" or "assistant".');
    if (result) return result;
  }
  return { ok: true, value: out };
}

/**
 * Reads `system` (top-level, or a `role: "system"` message): a string or text blocks. Text
 * blocks are joined with a blank line; an empty system prompt adds no message.
 */
export function parseSystemContent(raw: unknown, path: string): ParseResult<string> {
  if (typeof raw === 'string') return { ok: true, value: raw };
  if (!Array.isArray(raw)) return refuse(path, 'must be a string or an array of text blocks.');
  const texts: string[] = [];
  for (let j = 0; j < raw.length; j++) {
    const text = readTextBlock(raw[j], `${path}.${j}`);
    if (!text.ok) return text;
    texts.push(text.value);
  }
  return { ok: true, value: texts.join('\n\n') };
}

function parseSystemTurn(content: unknown, path: string, out: Message[]): Refusal | undefined {
  const system = parseSystemContent(content, path);
  if (!system.ok) return system;
  if (system.value !== '') out.push({ role: 'system', content: system.value });
  return undefined;
}

function parseUserTurn(
  content: unknown,
  path: string,
  toolNames: ReadonlyMap<string, string>,
  out: Message[],
): Refusal | undefined {
  if (typeof content === 'string') {
    out.push({ role: 'user', content });
    return undefined;
  }
  const blocks = readBlockArray(content, path);
  if (!blocks.ok) return blocks;
  let parts: ContentPart[] = [];
  const flush = () => {
    if (parts.length > 0) out.push({ role: 'user', content: parts });
    parts = [];
  };
  for (let j = 0; j < blocks.value.length; j++) {
    const blockPath = `${path}.${j}`;
    const block = blocks.value[j]!;
    const type = own(block, 'type');
    if (type === 'text') {
      const text = readTextBlock(block, blockPath);
      if (!text.ok) return text;
      parts.push({ type: 'text', text: text.value });
    } else if (type === 'image') {
      const image = readImageBlock(block, blockPath);
      if (!image.ok) return image;
      parts.push(image.value);
    } else if (type === 'tool_result') {
      const toolResult = readToolResult(block, blockPath);
      if (!toolResult.ok) return toolResult;
      flush();
      const name = toolNames.get(toolResult.value.toolCallId);
      out.push({ role: 'tool', ...toolResult.value, ...(name !== undefined ? { name } : {}) });
    } else {
      return unsupportedBlock(type, `${blockPath}.type`, 'user');
    }
  }
  flush();
  return undefined;
}

function parseAssistantTurn(
  content: unknown,
  path: string,
  toolNames: Map<string, string>,
  out: Message[],
): Refusal | undefined {
  if (typeof content === 'string') {
    out.push({ role: 'assistant', content });
    return undefined;
  }
  const blocks = readBlockArray(content, path);
  if (!blocks.ok) return blocks;
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  for (let j = 0; j < blocks.value.length; j++) {
    const blockPath = `${path}.${j}`;
    const block = blocks.value[j]!;
    const type = own(block, 'type');
    if (type === 'text') {
      const text = readTextBlock(block, blockPath);
      if (!text.ok) return text;
      texts.push(text.value);
    } else if (type === 'tool_use') {
      const call = readToolUse(block, blockPath);
      if (!call.ok) return call;
      toolCalls.push(call.value);
      toolNames.set(call.value.id, call.value.name);
    } else if (type === 'thinking' || type === 'redacted_thinking') {
      // Earlier reasoning sent back by the client: meaningful only to Anthropic (it is signed),
      // and the neutral assistant message has no field for it.
    } else {
      return unsupportedBlock(type, `${blockPath}.type`, 'assistant');
    }
  }
  const text = texts.join('');
  out.push({
    role: 'assistant',
    content: text === '' && toolCalls.length > 0 ? null : text,
    ...(toolCalls.length > 0 ? { toolCalls } : {}),
  });
  return undefined;
}

function readBlockArray(content: unknown, path: string): ParseResult<Record<string, unknown>[]> {
  if (!Array.isArray(content)) return refuse(path, 'must be a string or an array of content blocks.');
  if (content.length === 0) return refuse(path, 'must contain at least one content block.');
  for (let j = 0; j < content.length; j++) {
    if (!isObject(content[j])) return refuse(`${path}.${j}`, 'must be a content block object.');
  }
  return { ok: true, value: content as Record<string, unknown>[] };
}

function readTextBlock(block: unknown, path: string): ParseResult<string> {
  if (!isObject(block)) return refuse(path, 'must be a text block object.');
  if (own(block, 'type') !== 'text') return refuse(`${path}.type`, 'must be "text".');
  const text = own(block, 'text');
  if (typeof text !== 'string') return refuse(`${path}.text`, 'must be a string.');
  return { ok: true, value: text };
}

function readImageBlock(block: Record<string, unknown>, path: string): ParseResult<ImagePart> {
  const source = own(block, 'source');
  if (!isObject(source)) return refuse(`${path}.source`, 'must be an object.');
  const sourceType = own(source, 'type');
  if (sourceType === 'base64') {
    const mediaType = own(source, 'media_type');
    if (typeof mediaType !== 'string' || !IMAGE_MEDIA_TYPES.has(mediaType)) {
      return refuse(
        `${path}.source.media_type`,
        'must be one of image/jpeg, image/png, image/gif, image/webp.',
      );
    }
    const data = own(source, 'data');
    if (typeof data !== 'string' || data === '') {
      return refuse(`${path}.source.data`, 'must be a non-empty base64 string.');
    }
    return { ok: true, value: { type: 'image', data, mediaType } };
  }
  if (sourceType === 'url') {
    const url = own(source, 'url');
    if (typeof url !== 'string' || !isHttpUrl(url)) {
      return refuse(`${path}.source.url`, 'must be an http or https URL.');
    }
    return { ok: true, value: { type: 'image', url } };
  }
  return refuse(`${path}.source.type`, 'must be "base64" or "url".');
}

function readToolResult(
  block: Record<string, unknown>,
  path: string,
): ParseResult<{ toolCallId: string; content: string }> {
  const id = own(block, 'tool_use_id');
  if (typeof id !== 'string' || id === '')
    return refuse(`${path}.tool_use_id`, 'must be a non-empty string.');
  const isError = own(block, 'is_error');
  if (isError !== undefined && typeof isError !== 'boolean') {
    return refuse(`${path}.is_error`, 'must be a boolean.');
  }
  const content = own(block, 'content');
  if (content === undefined) return { ok: true, value: { toolCallId: id, content: '' } };
  if (typeof content === 'string') return { ok: true, value: { toolCallId: id, content } };
  if (!Array.isArray(content)) {
    return refuse(`${path}.content`, 'must be a string or an array of text blocks.');
  }
  const texts: string[] = [];
  for (let k = 0; k < content.length; k++) {
    const item: unknown = content[k];
    const itemPath = `${path}.content.${k}`;
    if (isObject(item) && own(item, 'type') !== 'text') {
      // Neutral tool results are text only; refusing beats silently dropping an image.
      return refuse(`${itemPath}.type`, 'only text blocks are supported inside a tool_result.');
    }
    const text = readTextBlock(item, itemPath);
    if (!text.ok) return text;
    texts.push(text.value);
  }
  return { ok: true, value: { toolCallId: id, content: texts.join('\n') } };
}

function readToolUse(block: Record<string, unknown>, path: string): ParseResult<ToolCall> {
  const id = own(block, 'id');
  if (typeof id !== 'string' || id === '') return refuse(`${path}.id`, 'must be a non-empty string.');
  const name = own(block, 'name');
  if (typeof name !== 'string' || name === '') return refuse(`${path}.name`, 'must be a non-empty string.');
  const input = own(block, 'input');
  if (!isObject(input)) return refuse(`${path}.input`, 'must be an object.');
  if (nestsDeeperThan(input, MAX_JSON_DEPTH)) {
    return refuse(`${path}.input`, `nests deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  return { ok: true, value: { id, name, arguments: JSON.stringify(input) } };
}

function unsupportedBlock(type: unknown, path: string, role: string): Refusal {
  if (typeof type !== 'string') return refuse(path, 'must be a string naming the block type.');
  return refuse(path, `block type "${printable(type)}" is not supported in ${role} messages here.`);
}

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const protocol = new URL(value).protocol;
  return protocol === 'https:' || protocol === 'http:';
}

/** A client-supplied name echoed in a message: shortened, so a huge value cannot bloat the body. */
function printable(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}…` : value;
}
