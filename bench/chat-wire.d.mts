export interface ChatWireOptions {
  id: string;
  created: number;
  model: string;
  /** Words of content (stream: one content chunk each). */
  chunks: number;
}
export function chatCompletion(options: ChatWireOptions): string;
export function chatStreamEvents(options: ChatWireOptions & { includeUsage: boolean }): string[];
