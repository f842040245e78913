import { InvalidRequestError } from '../../errors.js';
import type {
  ChatRequest,
  ContentPart,
  EmbedRequest,
  Message,
  ResponseFormat,
  ToolChoice,
} from '../../types/index.js';
import type { OpenAIRequestQuirks } from './openai-provider-quirks.js';

type Json = Record<string, unknown>;

// Optional fields are set by assignment throughout: a conditional spread (`...(x ? { x } : {})`)
// allocates and copies an object per message, part and tool of every request.

/**
 * Neutral chat request → OpenAI Chat Completions body, shaped by the provider's quirks (which
 * max-tokens field, whether to ask for stream usage, Mistral's `random_seed`).
 * https://platform.openai.com/docs/api-reference/chat/create
 */
export function toOpenAIRequest(
  request: ChatRequest,
  options: { stream: boolean; quirks: OpenAIRequestQuirks },
): Json {
  const { quirks } = options;
  const body: Json = {
    model: request.model,
    messages: request.messages.map((message) => toOpenAIMessage(message, quirks)),
  };
  if (request.tools?.length) {
    body.tools = request.tools.map((tool) => {
      const fn: Json = { name: tool.name };
      if (tool.description !== undefined) fn.description = tool.description;
      fn.parameters = tool.parameters;
      if (tool.strict !== undefined) fn.strict = tool.strict;
      return { type: 'function', function: fn };
    });
    // OpenAI rejects parallel_tool_calls without tools.
    if (request.parallelToolCalls !== undefined) body.parallel_tool_calls = request.parallelToolCalls;
  }
  if (request.toolChoice !== undefined) body.tool_choice = toOpenAIToolChoice(request.toolChoice);
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.maxTokens !== undefined) body[quirks.maxTokensField] = request.maxTokens;
  if (request.stop?.length) body.stop = request.stop;
  if (request.seed !== undefined) body[quirks.seedField] = request.seed;
  if (request.user !== undefined && quirks.sendsUser) body.user = request.user;
  if (request.responseFormat) body.response_format = toOpenAIResponseFormat(request.responseFormat);
  if (options.stream) {
    body.stream = true;
    if (quirks.streamUsageOption) body.stream_options = { include_usage: true };
  }
  return body;
}

function toOpenAIMessage(message: Message, quirks: OpenAIRequestQuirks): Json {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user': {
      const out: Json = {
        role: 'user',
        content: typeof message.content === 'string' ? message.content : message.content.map(toOpenAIPart),
      };
      if (message.name !== undefined && quirks.sendsMessageName) out.name = message.name;
      return out;
    }
    case 'assistant': {
      const out: Json = { role: 'assistant', content: message.content };
      if (message.toolCalls?.length) {
        out.tool_calls = message.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: call.arguments },
        }));
      }
      return out;
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

/** Images go as a URL: an http(s) URL as given, base64 data as a `data:` URL. */
function toOpenAIPart(part: ContentPart): Json {
  if (part.type === 'text') return { type: 'text', text: part.text };
  let url = part.url;
  if (url === undefined) {
    if (part.data === undefined) throw new InvalidRequestError('An image part needs a url or base64 data');
    url = `data:${part.mediaType ?? 'image/png'};base64,${part.data}`;
  }
  const image: Json = { url };
  if (part.detail) image.detail = part.detail;
  return { type: 'image_url', image_url: image };
}

function toOpenAIToolChoice(choice: ToolChoice): unknown {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function toOpenAIResponseFormat(format: ResponseFormat): Json {
  switch (format.type) {
    case 'text':
      return { type: 'text' };
    case 'json':
      return { type: 'json_object' };
    case 'json_schema': {
      const schema: Json = { name: format.name };
      if (format.description !== undefined) schema.description = format.description;
      schema.schema = format.schema;
      if (format.strict !== undefined) schema.strict = format.strict;
      return { type: 'json_schema', json_schema: schema };
    }
  }
}

/**
 * Neutral embedding request → OpenAI Embeddings body. Floats, so nothing has to decode base64.
 * https://platform.openai.com/docs/api-reference/embeddings/create
 */
export function toOpenAIEmbeddingRequest(request: EmbedRequest, quirks: OpenAIRequestQuirks): Json {
  const body: Json = { model: request.model, input: request.input, encoding_format: 'float' };
  if (request.dimensions !== undefined) body[quirks.dimensionsField] = request.dimensions;
  if (request.user !== undefined && quirks.sendsUser) body.user = request.user;
  return body;
}
