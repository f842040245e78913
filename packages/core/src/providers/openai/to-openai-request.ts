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
    body.tools = request.tools.map((tool) => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description !== undefined ? { description: tool.description } : {}),
        parameters: tool.parameters,
        ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
      },
    }));
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
    // Optional fields by assignment: a conditional spread clones an object on every message.
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
  return { type: 'image_url', image_url: { url, ...(part.detail ? { detail: part.detail } : {}) } };
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
    case 'json_schema':
      return {
        type: 'json_schema',
        json_schema: {
          name: format.name,
          ...(format.description !== undefined ? { description: format.description } : {}),
          schema: format.schema,
          ...(format.strict !== undefined ? { strict: format.strict } : {}),
        },
      };
  }
}

/**
 * Neutral embedding request → OpenAI Embeddings body. Floats, so nothing has to decode base64.
 * https://platform.openai.com/docs/api-reference/embeddings/create
 */
export function toOpenAIEmbeddingRequest(request: EmbedRequest, quirks: OpenAIRequestQuirks): Json {
  return {
    model: request.model,
    input: request.input,
    encoding_format: 'float',
    ...(request.dimensions !== undefined ? { [quirks.dimensionsField]: request.dimensions } : {}),
    ...(request.user !== undefined && quirks.sendsUser ? { user: request.user } : {}),
  };
}
