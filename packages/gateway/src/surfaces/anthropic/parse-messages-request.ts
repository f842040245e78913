import type { ChatInput, Message, ResponseFormat, ToolChoice, ToolDefinition } from '@keyhold/core';
import { parseAnthropicMessages, parseSystemContent } from './parse-anthropic-messages.js';
import { isObject, MAX_JSON_DEPTH, nestsDeeperThan, own, type ParseResult, refuse } from './parse-result.js';

export type { ParseResult } from './parse-result.js';

/** A parsed `POST /v1/messages` body: the requested model, whether to stream, the neutral input. */
export interface AnthropicMessagesRequest {
  model: string;
  stream: boolean;
  input: ChatInput;
}

/**
 * Parses an Anthropic Messages request body (already `JSON.parse`d) into Keyhold's neutral
 * `ChatInput`. Returns `{ ok: false, message, param }` naming the offending field
 * (`messages.2.content.0.type`) for any wrong type or missing required field; never throws.
 *
 * Field mapping (https://docs.claude.com/en/api/messages):
 * - `system` (string or text blocks) → a leading `SystemMessage`;
 * - `max_tokens` (required, positive integer) → `maxTokens`; `temperature`, `top_p` (0–1) →
 *   `temperature`, `topP`; `stop_sequences` → `stop`; `metadata.user_id` → `user`;
 * - `tools` (custom tools: `name`, `description`, `input_schema`, `strict`) → `tools`; server
 *   tools (a `type` other than `custom`) are refused, no other provider can run them;
 * - `tool_choice`: `auto` → `'auto'`, `any` → `'required'`, `tool` → `{ name }`, `none` →
 *   `'none'`; `disable_parallel_tool_use: true` → `parallelToolCalls: false`;
 * - `output_config.format` `{ type: 'json_schema', schema }` → `responseFormat` json_schema.
 *
 * Validated and ignored, because the neutral request has no field for them: `top_k`, `thinking`
 * and `output_config.effort`. Other top-level fields (`service_tier`, `cache_control`,
 * `container`, …) are ignored; refusing fields a host forbids (`base_url`) is the server's job.
 *
 * @example
 * const parsed = parseAnthropicMessagesRequest(JSON.parse(body));
 * if (!parsed.ok) return reply(400, toAnthropicErrorBody(400, parsed.message));
 * const { model, stream, input } = parsed.value;
 */
export function parseAnthropicMessagesRequest(body: unknown): ParseResult<AnthropicMessagesRequest> {
  if (!isObject(body)) return { ok: false, message: 'The request body must be a JSON object.' };

  const model = own(body, 'model');
  if (typeof model !== 'string' || model.trim() === '') return refuse('model', 'must be a non-empty string.');

  const maxTokens = own(body, 'max_tokens');
  if (maxTokens === undefined) return refuse('max_tokens', 'is required.');
  if (!Number.isSafeInteger(maxTokens) || (maxTokens as number) < 1) {
    return refuse('max_tokens', 'must be a positive integer.');
  }

  const stream = own(body, 'stream');
  if (stream !== undefined && typeof stream !== 'boolean') return refuse('stream', 'must be a boolean.');

  const messages: Message[] = [];
  const system = own(body, 'system');
  if (system !== undefined) {
    const text = parseSystemContent(system, 'system');
    if (!text.ok) return text;
    if (text.value !== '') messages.push({ role: 'system', content: text.value });
  }
  const turns = parseAnthropicMessages(own(body, 'messages'));
  if (!turns.ok) return turns;
  messages.push(...turns.value);

  const input: ChatInput = { messages, maxTokens: maxTokens as number };

  const temperature = readUnitNumber(body, 'temperature');
  if (!temperature.ok) return temperature;
  if (temperature.value !== undefined) input.temperature = temperature.value;

  const topP = readUnitNumber(body, 'top_p');
  if (!topP.ok) return topP;
  if (topP.value !== undefined) input.topP = topP.value;

  // top_k has no neutral field (OpenAI has no equivalent); it is checked, then ignored.
  const topK = own(body, 'top_k');
  if (topK !== undefined && (!Number.isSafeInteger(topK) || (topK as number) < 0)) {
    return refuse('top_k', 'must be a non-negative integer.');
  }

  const stop = readStopSequences(own(body, 'stop_sequences'));
  if (!stop.ok) return stop;
  if (stop.value !== undefined) input.stop = stop.value;

  const user = readMetadataUser(own(body, 'metadata'));
  if (!user.ok) return user;
  if (user.value !== undefined) input.user = user.value;

  const tools = readTools(own(body, 'tools'));
  if (!tools.ok) return tools;
  if (tools.value !== undefined) input.tools = tools.value;

  const choice = readToolChoice(own(body, 'tool_choice'));
  if (!choice.ok) return choice;
  if (choice.value.toolChoice !== undefined) input.toolChoice = choice.value.toolChoice;
  if (choice.value.parallelToolCalls !== undefined) input.parallelToolCalls = choice.value.parallelToolCalls;

  const thinking = own(body, 'thinking');
  if (thinking !== undefined && thinking !== null && !isObject(thinking)) {
    return refuse('thinking', 'must be an object.');
  }

  const format = readOutputFormat(own(body, 'output_config'));
  if (!format.ok) return format;
  if (format.value !== undefined) input.responseFormat = format.value;

  return { ok: true, value: { model, stream: stream === true, input } };
}

/** A number in [0, 1], Anthropic's range for `temperature` and `top_p`. */
function readUnitNumber(body: Record<string, unknown>, key: string): ParseResult<number | undefined> {
  const value = own(body, key);
  if (value === undefined) return { ok: true, value: undefined };
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    return refuse(key, 'must be a number between 0 and 1.');
  }
  return { ok: true, value };
}

function readStopSequences(raw: unknown): ParseResult<string[] | undefined> {
  if (raw === undefined) return { ok: true, value: undefined };
  if (!Array.isArray(raw)) return refuse('stop_sequences', 'must be an array of strings.');
  for (let i = 0; i < raw.length; i++) {
    if (typeof raw[i] !== 'string') return refuse(`stop_sequences.${i}`, 'must be a string.');
  }
  return { ok: true, value: raw.length > 0 ? (raw as string[]) : undefined };
}

function readMetadataUser(raw: unknown): ParseResult<string | undefined> {
  if (raw === undefined) return { ok: true, value: undefined };
  if (!isObject(raw)) return refuse('metadata', 'must be an object.');
  const userId = own(raw, 'user_id');
  if (userId === undefined || userId === null) return { ok: true, value: undefined };
  if (typeof userId !== 'string') return refuse('metadata.user_id', 'must be a string.');
  return { ok: true, value: userId === '' ? undefined : userId };
}

function readTools(raw: unknown): ParseResult<ToolDefinition[] | undefined> {
  if (raw === undefined) return { ok: true, value: undefined };
  if (!Array.isArray(raw)) return refuse('tools', 'must be an array of tools.');
  const tools: ToolDefinition[] = [];
  for (let i = 0; i < raw.length; i++) {
    const path = `tools.${i}`;
    const tool: unknown = raw[i];
    if (!isObject(tool)) return refuse(path, 'must be an object.');
    const type = own(tool, 'type');
    if (type !== undefined && type !== null && type !== 'custom') {
      // Server tools (web search, code execution, …) run inside Anthropic; no other provider can.
      return refuse(`${path}.type`, 'only custom tools are supported; server tools are not.');
    }
    const name = own(tool, 'name');
    if (typeof name !== 'string' || name === '') return refuse(`${path}.name`, 'must be a non-empty string.');
    const description = own(tool, 'description');
    if (description !== undefined && typeof description !== 'string') {
      return refuse(`${path}.description`, 'must be a string.');
    }
    const schema = own(tool, 'input_schema');
    if (!isObject(schema)) return refuse(`${path}.input_schema`, 'must be a JSON Schema object.');
    if (nestsDeeperThan(schema, MAX_JSON_DEPTH)) {
      return refuse(`${path}.input_schema`, `nests deeper than ${MAX_JSON_DEPTH} levels.`);
    }
    const strict = own(tool, 'strict');
    if (strict !== undefined && typeof strict !== 'boolean')
      return refuse(`${path}.strict`, 'must be a boolean.');
    tools.push({
      name,
      ...(description !== undefined ? { description } : {}),
      parameters: schema,
      ...(strict !== undefined ? { strict } : {}),
    });
  }
  return { ok: true, value: tools };
}

function readToolChoice(
  raw: unknown,
): ParseResult<{ toolChoice?: ToolChoice; parallelToolCalls?: boolean | undefined }> {
  if (raw === undefined) return { ok: true, value: {} };
  if (!isObject(raw)) return refuse('tool_choice', 'must be an object.');
  const type = own(raw, 'type');
  let toolChoice: ToolChoice;
  if (type === 'auto') toolChoice = 'auto';
  else if (type === 'any') toolChoice = 'required';
  else if (type === 'none') toolChoice = 'none';
  else if (type === 'tool') {
    const name = own(raw, 'name');
    if (typeof name !== 'string' || name === '')
      return refuse('tool_choice.name', 'must be a non-empty string.');
    toolChoice = { name };
  } else {
    return refuse('tool_choice.type', 'must be one of "auto", "any", "tool", "none".');
  }
  const disable = own(raw, 'disable_parallel_tool_use');
  if (disable !== undefined && typeof disable !== 'boolean') {
    return refuse('tool_choice.disable_parallel_tool_use', 'must be a boolean.');
  }
  return {
    ok: true,
    value: {
      toolChoice,
      ...(disable !== undefined && type !== 'none' ? { parallelToolCalls: !disable } : {}),
    },
  };
}

function readOutputFormat(raw: unknown): ParseResult<ResponseFormat | undefined> {
  if (raw === undefined || raw === null) return { ok: true, value: undefined };
  if (!isObject(raw)) return refuse('output_config', 'must be an object.');
  const format = own(raw, 'format');
  if (format === undefined || format === null) return { ok: true, value: undefined };
  if (!isObject(format)) return refuse('output_config.format', 'must be an object.');
  if (own(format, 'type') !== 'json_schema')
    return refuse('output_config.format.type', 'must be "json_schema".');
  const schema = own(format, 'schema');
  if (!isObject(schema)) return refuse('output_config.format.schema', 'must be a JSON Schema object.');
  if (nestsDeeperThan(schema, MAX_JSON_DEPTH)) {
    return refuse('output_config.format.schema', `nests deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  // Anthropic's format has no name; the neutral (OpenAI-shaped) one requires one.
  return { ok: true, value: { type: 'json_schema', name: 'response', schema } };
}
