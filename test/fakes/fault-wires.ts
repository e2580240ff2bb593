import { EventStreamCodec } from '@smithy/eventstream-codec';
import { sse, type FaultWire } from './faults';

/** The {@link FaultWire}s of the four wire formats the seven providers speak. */

const USAGE_OPENAI = { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 };

/** OpenAI chat completions (openai, openrouter, azure_openai). */
export function openAiWire(model: string): FaultWire {
  const base = { id: 'chatcmpl-fault', object: 'chat.completion.chunk', created: 1_700_000_000, model };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): Buffer =>
    sse(JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] }));
  const okJsonWith = (text: string): unknown => ({
    id: 'chatcmpl-fault',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: USAGE_OPENAI,
  });
  return {
    streamContentType: 'text/event-stream',
    streamStart: () => Buffer.concat([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hello ' })]),
    streamEnd: () =>
      Buffer.concat([chunk({ content: 'world' }), chunk({}, 'stop'), sse(JSON.stringify({ ...base, choices: [], usage: USAGE_OPENAI })), sse('[DONE]')]),
    rawEvent: (payload) => sse(payload),
    hugeEvent: (bytes) => chunk({ content: 'x'.repeat(bytes) }),
    keepAlive: () => Buffer.from(': ping\n\n'),
    okJson: () => okJsonWith('Hello world'),
    okJsonWith,
    errorAnswer: (status, message) => ({ body: { error: { message, type: status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error', code: null } }, headers: {} }),
  };
}

/** Anthropic Messages. */
export function anthropicWire(model: string): FaultWire {
  const ev = (type: string, data: Record<string, unknown>): Buffer => sse(JSON.stringify({ type, ...data }), type);
  const okJsonWith = (text: string): unknown => ({
    id: 'msg_fault',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: 2 },
  });
  const delta = (text: string): Buffer => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
  const errorType = (status: number): string =>
    status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : status >= 500 ? 'api_error' : status === 401 ? 'authentication_error' : 'invalid_request_error';
  return {
    streamContentType: 'text/event-stream; charset=utf-8',
    streamStart: () =>
      Buffer.concat([
        ev('message_start', { message: { id: 'msg_fault', type: 'message', role: 'assistant', model, content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } }),
        ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
        delta('Hello '),
      ]),
    streamEnd: () =>
      Buffer.concat([
        delta('world'),
        ev('content_block_stop', { index: 0 }),
        ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } }),
        ev('message_stop', {}),
      ]),
    rawEvent: (payload) => sse(payload, 'content_block_delta'),
    hugeEvent: (bytes) => delta('x'.repeat(bytes)),
    keepAlive: () => sse(JSON.stringify({ type: 'ping' }), 'ping'),
    okJson: () => okJsonWith('Hello world'),
    okJsonWith,
    errorAnswer: (status, message) => ({ body: { type: 'error', error: { type: errorType(status), message } }, headers: {} }),
  };
}

const RPC_STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

/** Gemini generateContent (google_ai_studio, google_vertex), `alt=sse` streams with CRLF line ends as Google sends. */
export function geminiWire(model: string): FaultWire {
  const chunk = (text: string, finish?: string): Buffer =>
    sse(
      JSON.stringify({
        candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0, ...(finish ? { finishReason: finish } : {}) }],
        usageMetadata: finish ? { promptTokenCount: 11, candidatesTokenCount: 2, totalTokenCount: 13 } : { promptTokenCount: 11, totalTokenCount: 11 },
        modelVersion: model,
      }),
      undefined,
      '\r\n',
    );
  const okJsonWith = (text: string): unknown => ({
    candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 2, totalTokenCount: 13 },
    modelVersion: model,
  });
  return {
    streamContentType: 'text/event-stream',
    streamStart: () => chunk('Hello '),
    streamEnd: () => chunk('world', 'STOP'),
    rawEvent: (payload) => sse(payload, undefined, '\r\n'),
    hugeEvent: (bytes) => chunk('x'.repeat(bytes)),
    keepAlive: () => Buffer.from(': ping\r\n\r\n'),
    okJson: () => okJsonWith('Hello world'),
    okJsonWith,
    errorAnswer: (status, message) => ({ body: { error: { code: status, message, status: RPC_STATUS[status] ?? 'UNKNOWN' } }, headers: { 'content-type': 'application/json; charset=UTF-8' } }),
  };
}

const enc = new TextEncoder();
const codec = new EventStreamCodec((b) => new TextDecoder().decode(b), (s) => enc.encode(s));
const AWS_ERRORS: Record<number, string> = { 400: 'ValidationException', 401: 'UnrecognizedClientException', 403: 'AccessDeniedException', 429: 'ThrottlingException', 500: 'InternalServerException', 503: 'ServiceUnavailableException' };

/** Bedrock Converse / ConverseStream (AWS event-stream frames). */
export function bedrockWire(): FaultWire {
  const frame = (type: string, body: string | Uint8Array): Buffer =>
    Buffer.from(
      codec.encode({
        headers: {
          ':event-type': { type: 'string', value: type },
          ':content-type': { type: 'string', value: 'application/json' },
          ':message-type': { type: 'string', value: 'event' },
        },
        body: typeof body === 'string' ? enc.encode(body) : body,
      }),
    );
  const delta = (text: string): Buffer => frame('contentBlockDelta', JSON.stringify({ contentBlockIndex: 0, delta: { text }, p: 'abcdef' }));
  const okJsonWith = (text: string): unknown => ({
    output: { message: { role: 'assistant', content: [{ text }] } },
    stopReason: 'end_turn',
    usage: { inputTokens: 11, outputTokens: 2, totalTokens: 13 },
    metrics: { latencyMs: 42 },
  });
  return {
    streamContentType: 'application/vnd.amazon.eventstream',
    streamStart: () => Buffer.concat([frame('messageStart', JSON.stringify({ role: 'assistant' })), delta('Hello ')]),
    streamEnd: () =>
      Buffer.concat([
        delta('world'),
        frame('contentBlockStop', JSON.stringify({ contentBlockIndex: 0 })),
        frame('messageStop', JSON.stringify({ stopReason: 'end_turn' })),
        frame('metadata', JSON.stringify({ usage: { inputTokens: 11, outputTokens: 2, totalTokens: 13 }, metrics: { latencyMs: 42 } })),
      ]),
    rawEvent: (payload) => frame('contentBlockDelta', payload),
    hugeEvent: (bytes) => delta('x'.repeat(bytes)),
    // Bedrock sends no keep-alives; an event type clients do not know is what they must skip.
    keepAlive: () => frame('keepAlive', '{}'),
    okJson: () => okJsonWith('Hello world'),
    okJsonWith,
    errorAnswer: (status, message) => ({
      body: { message },
      headers: { 'x-amzn-errortype': `${AWS_ERRORS[status] ?? 'InternalServerException'}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
    }),
  };
}
