import type { ChatRequest, ContentPart, EmbedRequest, Message, ToolChoice } from '../../types/index.js';
import { quirksOf } from './openai-provider-quirks.js';

type Json = Record<string, unknown>;

/** Neutral chat request → OpenAI Chat Completions body. */
export function toOpenAIRequest(provider: string, request: ChatRequest, options: { stream: boolean }): Json {
  const quirks = quirksOf(provider);
  const body: Json = { model: request.model, messages: request.messages.map(toOpenAIMessage) };
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
  }
  if (request.toolChoice !== undefined) body.tool_choice = toOpenAIToolChoice(request.toolChoice);
  if (request.parallelToolCalls !== undefined && request.tools?.length) {
    body.parallel_tool_calls = request.parallelToolCalls;
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.maxTokens !== undefined) body[quirks.maxTokensField] = request.maxTokens;
  if (request.stop?.length) body.stop = request.stop;
  if (request.seed !== undefined) body.seed = request.seed;
  if (request.user !== undefined) body.user = request.user;
  if (request.responseFormat) {
    const format = request.responseFormat;
    if (format.type === 'json') body.response_format = { type: 'json_object' };
    else if (format.type === 'json_schema') {
      body.response_format = {
        type: 'json_schema',
        json_schema: {
          name: format.name,
          schema: format.schema,
          ...(format.description !== undefined ? { description: format.description } : {}),
          ...(format.strict !== undefined ? { strict: format.strict } : {}),
        },
      };
    } else body.response_format = { type: 'text' };
  }
  if (options.stream) {
    body.stream = true;
    if (quirks.streamUsageOption) body.stream_options = { include_usage: true };
  }
  return body;
}

function toOpenAIMessage(message: Message): Json {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return {
        role: 'user',
        content: typeof message.content === 'string' ? message.content : message.content.map(toOpenAIPart),
        ...(message.name !== undefined ? { name: message.name } : {}),
      };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls?.length
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function toOpenAIPart(part: ContentPart): Json {
  if (part.type === 'text') return { type: 'text', text: part.text };
  const url = part.url ?? `data:${part.mediaType ?? 'image/png'};base64,${part.data ?? ''}`;
  return { type: 'image_url', image_url: { url, ...(part.detail ? { detail: part.detail } : {}) } };
}

function toOpenAIToolChoice(choice: ToolChoice): unknown {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

/** Neutral embedding request → OpenAI Embeddings body. Floats, so no client has to decode base64. */
export function toOpenAIEmbeddingRequest(request: EmbedRequest): Json {
  return {
    model: request.model,
    input: request.input,
    encoding_format: 'float',
    ...(request.dimensions !== undefined ? { dimensions: request.dimensions } : {}),
    ...(request.user !== undefined ? { user: request.user } : {}),
  };
}
