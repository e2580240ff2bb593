/** The parts of Anthropic's Messages API wire format this library reads and writes. */

export interface AnthropicTextBlock {
  type: 'text';
  text: string;
}

export interface AnthropicMessageParam {
  role: 'user' | 'assistant';
  content: string | AnthropicTextBlock[];
}

export interface AnthropicRequestBody {
  model: string;
  max_tokens: number;
  messages: AnthropicMessageParam[];
  system?: string;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  stream?: boolean;
}

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

export interface AnthropicContentBlock {
  type?: string;
  text?: string;
}

/** A non-streaming answer (`type: 'message'`). */
export interface AnthropicMessage {
  type?: string;
  model?: string;
  content?: AnthropicContentBlock[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}

export interface AnthropicErrorBody {
  type?: string;
  error?: { type?: string; message?: string };
}

/** One decoded SSE event of a streaming answer. */
export interface AnthropicStreamEvent {
  type?: string;
  message?: AnthropicMessage;
  index?: number;
  content_block?: AnthropicContentBlock;
  delta?: { type?: string; text?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}
