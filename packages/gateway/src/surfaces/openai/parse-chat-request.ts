import type {
  AssistantMessage,
  ChatInput,
  ContentPart,
  JsonSchema,
  Message,
  ResponseFormat,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from '@keyhold/core';

/** A parsed request, or the first problem found in it (with the field's path as OpenAI names it). */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string; param?: string };

/** A Chat Completions request in Keyhold's neutral terms. */
export interface ParsedChatRequest {
  /** Absent when the request names no model (the tenant's default applies). */
  model?: string;
  stream: boolean;
  /** `stream_options.include_usage`. */
  includeUsage: boolean;
  input: ChatInput;
}

class Invalid extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses an OpenAI Chat Completions request body into a neutral `ChatInput`
 * (https://platform.openai.com/docs/api-reference/chat/create). Fields Keyhold cannot honour
 * faithfully (n > 1, audio input, legacy `functions`) are rejected; optional fields without a
 * neutral equivalent (logprobs, penalties, metadata) are ignored.
 */
export function parseChatRequest(body: unknown): ParseResult<ParsedChatRequest> {
  try {
    return { ok: true, value: parse(body) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, message: error.message, param: error.param };
    throw error;
  }
}

function parse(body: unknown): ParsedChatRequest {
  if (!isObject(body)) throw new Invalid('The request body must be a JSON object', '');
  const model = optional(body, 'model', 'string');
  if (body.functions !== undefined || body.function_call !== undefined) {
    throw new Invalid('Legacy "functions" are not supported: use "tools"', 'functions');
  }
  const n = optional(body, 'n', 'number');
  if (n !== undefined && n !== 1) throw new Invalid('Only n = 1 is supported', 'n');
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw new Invalid('"messages" must be a non-empty array', 'messages');
  }
  const messages = body.messages.map((m, i) => parseMessage(m, `messages[${i}]`));

  const input: ChatInput = { messages };
  const temperature = optional(body, 'temperature', 'number');
  if (temperature !== undefined) input.temperature = bounded(temperature, 0, 2, 'temperature');
  const topP = optional(body, 'top_p', 'number');
  if (topP !== undefined) input.topP = bounded(topP, 0, 1, 'top_p');
  const maxTokens =
    optional(body, 'max_completion_tokens', 'number') ?? optional(body, 'max_tokens', 'number');
  if (maxTokens !== undefined) {
    const param = body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
    if (!Number.isInteger(maxTokens) || maxTokens < 1)
      throw new Invalid(`"${param}" must be a positive integer`, param);
    input.maxTokens = maxTokens;
  }
  const seed = optional(body, 'seed', 'number');
  if (seed !== undefined) {
    if (!Number.isInteger(seed)) throw new Invalid('"seed" must be an integer', 'seed');
    input.seed = seed;
  }
  const user = optional(body, 'user', 'string');
  if (user !== undefined) input.user = user;
  if (body.stop !== undefined && body.stop !== null) input.stop = parseStop(body.stop);
  if (body.tools !== undefined && body.tools !== null) input.tools = parseTools(body.tools);
  if (body.tool_choice !== undefined && body.tool_choice !== null)
    input.toolChoice = parseToolChoice(body.tool_choice);
  const parallel = optional(body, 'parallel_tool_calls', 'boolean');
  if (parallel !== undefined) input.parallelToolCalls = parallel;
  if (body.response_format !== undefined && body.response_format !== null) {
    input.responseFormat = parseResponseFormat(body.response_format);
  }

  const stream = optional(body, 'stream', 'boolean') ?? false;
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!isObject(body.stream_options))
      throw new Invalid('"stream_options" must be an object', 'stream_options');
    includeUsage = optional(body.stream_options, 'include_usage', 'boolean', 'stream_options.') ?? false;
  }
  // Two literals, not `{ ...(model ? { model } : {}), stream, … }` (test/hot-path-literals.test.ts).
  return model !== undefined ? { model, stream, includeUsage, input } : { stream, includeUsage, input };
}

function parseMessage(value: unknown, path: string): Message {
  if (!isObject(value)) throw new Invalid('Each message must be an object', path);
  const role = value.role;
  switch (role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textContent(value.content, `${path}.content`) };
    case 'user': {
      const name = optional(value, 'name', 'string', `${path}.`);
      return {
        role: 'user',
        content: userContent(value.content, `${path}.content`),
        ...(name !== undefined ? { name } : {}),
      };
    }
    case 'assistant': {
      const message: AssistantMessage = {
        role: 'assistant',
        content:
          value.content === null || value.content === undefined
            ? null
            : textContent(value.content, `${path}.content`),
      };
      if (value.tool_calls !== undefined && value.tool_calls !== null) {
        message.toolCalls = parseToolCalls(value.tool_calls, `${path}.tool_calls`);
      }
      if (message.content === null && !message.toolCalls?.length) message.content = '';
      return message;
    }
    case 'tool': {
      const toolCallId = value.tool_call_id;
      if (typeof toolCallId !== 'string' || toolCallId === '') {
        throw new Invalid('A tool message needs "tool_call_id"', `${path}.tool_call_id`);
      }
      return { role: 'tool', toolCallId, content: textContent(value.content, `${path}.content`) };
    }
    default:
      throw new Invalid(
        'A message "role" must be one of system, developer, user, assistant, tool',
        `${path}.role`,
      );
  }
}

/** String content, or an array of text parts joined (system, assistant and tool messages). */
function textContent(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) throw new Invalid('"content" must be a string or an array of parts', path);
  return value
    .map((part, i) => {
      if (!isObject(part)) throw new Invalid('Each content part must be an object', `${path}[${i}]`);
      if (part.type === 'text' && typeof part.text === 'string') return part.text;
      if (part.type === 'refusal' && typeof part.refusal === 'string') return part.refusal;
      throw new Invalid('Only text parts are allowed here', `${path}[${i}]`);
    })
    .join('');
}

function userContent(value: unknown, path: string): string | ContentPart[] {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value) || value.length === 0) {
    throw new Invalid('"content" must be a string or a non-empty array of parts', path);
  }
  return value.map((part, i): ContentPart => {
    const where = `${path}[${i}]`;
    if (!isObject(part)) throw new Invalid('Each content part must be an object', where);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw new Invalid('A text part needs "text"', `${where}.text`);
      return { type: 'text', text: part.text };
    }
    if (part.type === 'image_url') {
      const image = part.image_url;
      if (!isObject(image) || typeof image.url !== 'string' || image.url === '') {
        throw new Invalid('An image part needs "image_url.url"', `${where}.image_url.url`);
      }
      const detail = image.detail;
      if (detail !== undefined && detail !== 'auto' && detail !== 'low' && detail !== 'high') {
        throw new Invalid('"detail" must be auto, low or high', `${where}.image_url.detail`);
      }
      return { type: 'image', url: image.url, ...(detail ? { detail } : {}) };
    }
    throw new Invalid(
      `Content parts of type "${String(part.type).slice(0, 40)}" are not supported`,
      `${where}.type`,
    );
  });
}

function parseToolCalls(value: unknown, path: string): ToolCall[] {
  if (!Array.isArray(value)) throw new Invalid('"tool_calls" must be an array', path);
  return value.map((call, i) => {
    const where = `${path}[${i}]`;
    if (!isObject(call) || !isObject(call.function)) throw new Invalid('A tool call needs "function"', where);
    const { id } = call;
    const { name, arguments: args } = call.function;
    if (typeof id !== 'string') throw new Invalid('A tool call needs "id"', `${where}.id`);
    if (typeof name !== 'string')
      throw new Invalid('A tool call needs "function.name"', `${where}.function.name`);
    if (typeof args !== 'string') {
      throw new Invalid('"function.arguments" must be a JSON string', `${where}.function.arguments`);
    }
    return { id, name, arguments: args };
  });
}

function parseTools(value: unknown): ToolDefinition[] {
  if (!Array.isArray(value)) throw new Invalid('"tools" must be an array', 'tools');
  return value.map((tool, i) => {
    const where = `tools[${i}]`;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(tool.function)) {
      throw new Invalid('Only tools of type "function" are supported', where);
    }
    const fn = tool.function;
    if (typeof fn.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(fn.name)) {
      throw new Invalid('"function.name" must be 1-64 letters, digits, _ or -', `${where}.function.name`);
    }
    const parameters = fn.parameters ?? { type: 'object', properties: {} };
    if (!isObject(parameters))
      throw new Invalid('"function.parameters" must be an object', `${where}.function.parameters`);
    const description = optional(fn, 'description', 'string', `${where}.function.`);
    const strict = fn.strict === null ? undefined : optional(fn, 'strict', 'boolean', `${where}.function.`);
    return {
      name: fn.name,
      parameters: parameters as JsonSchema,
      ...(description !== undefined ? { description } : {}),
      ...(strict !== undefined ? { strict } : {}),
    };
  });
}

function parseToolChoice(value: unknown): ToolChoice {
  if (value === 'auto' || value === 'none' || value === 'required') return value;
  if (isObject(value) && value.type === 'function' && isObject(value.function)) {
    const { name } = value.function;
    if (typeof name === 'string' && name !== '') return { name };
  }
  throw new Invalid('"tool_choice" must be auto, none, required or a function', 'tool_choice');
}

function parseResponseFormat(value: unknown): ResponseFormat {
  if (!isObject(value)) throw new Invalid('"response_format" must be an object', 'response_format');
  if (value.type === 'text') return { type: 'text' };
  if (value.type === 'json_object') return { type: 'json' };
  if (value.type === 'json_schema' && isObject(value.json_schema)) {
    const spec = value.json_schema;
    if (typeof spec.name !== 'string' || spec.name === '') {
      throw new Invalid('"json_schema.name" is required', 'response_format.json_schema.name');
    }
    const schema = spec.schema ?? {};
    if (!isObject(schema))
      throw new Invalid('"json_schema.schema" must be an object', 'response_format.json_schema.schema');
    const description = optional(spec, 'description', 'string', 'response_format.json_schema.');
    const strict =
      spec.strict === null ? undefined : optional(spec, 'strict', 'boolean', 'response_format.json_schema.');
    return {
      type: 'json_schema',
      name: spec.name,
      schema: schema as JsonSchema,
      ...(description !== undefined ? { description } : {}),
      ...(strict !== undefined ? { strict } : {}),
    };
  }
  throw new Invalid(
    '"response_format.type" must be text, json_object or json_schema',
    'response_format.type',
  );
}

function parseStop(value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string')) {
    throw new Invalid('"stop" must be a string or an array of up to 4 strings', 'stop');
  }
  return list as string[];
}

function bounded(value: number, min: number, max: number, param: string): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Invalid(`"${param}" must be between ${min} and ${max}`, param);
  }
  return value;
}

type Kind = { string: string; number: number; boolean: boolean };

/** A field of the given type, absent or null → undefined, anything else → 400. */
function optional<K extends keyof Kind>(obj: Obj, name: string, kind: K, prefix = ''): Kind[K] | undefined {
  const value = obj[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== kind || (kind === 'number' && !Number.isFinite(value))) {
    throw new Invalid(`"${name}" must be a ${kind}`, `${prefix}${name}`);
  }
  return value as Kind[K];
}
