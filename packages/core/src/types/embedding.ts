export interface EmbedInput {
  input: string | string[];
  /** Output dimensions, for models that can shorten their vectors. */
  dimensions?: number;
  user?: string;
}

export interface EmbedRequest {
  model: string;
  input: string[];
  dimensions?: number;
  user?: string;
}

export interface EmbedResult {
  model: string;
  /** One vector per input, in input order. */
  embeddings: number[][];
  usage: { inputTokens: number };
}
