/**
 * The request side of Anthropic's Messages API wire format, and its error body. Answers and stream events are read
 * field by field with type checks (see `anthropic.adapter.ts`): an upstream may send anything.
 */

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

export interface AnthropicErrorBody {
  type?: string;
  error?: { type?: string; message?: string };
}
