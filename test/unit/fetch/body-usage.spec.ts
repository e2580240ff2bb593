import { EventStreamCodec } from '@smithy/eventstream-codec';
import { bodyTracker, type BodyVerdict } from '../../../lib/core/fetch/body-usage';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds `bytes` to a fresh tracker in pieces of `size` bytes (1: every byte boundary), and finishes it. */
function verdict(contentType: string, bytes: Uint8Array, size = bytes.length): BodyVerdict {
  const t = bodyTracker(contentType);
  if (t === undefined) throw new Error(`no tracker for ${contentType}`);
  for (let i = 0; i < bytes.length; i += size) t.push(bytes.subarray(i, i + size));
  return t.finish();
}

/** The same verdict whatever the chunking (whole, every byte, a prime-sized split that cuts UTF-8 and CRLF). */
function sameWhateverTheChunks(contentType: string, text: string | Uint8Array): BodyVerdict {
  const bytes = typeof text === 'string' ? enc.encode(text) : text;
  const whole = verdict(contentType, bytes);
  expect(verdict(contentType, bytes, 1)).toEqual(whole);
  expect(verdict(contentType, bytes, 7)).toEqual(whole);
  return whole;
}

const sse = (events: Array<{ event?: string; data: unknown }>, nl = '\n'): string =>
  events.map((e) => `${e.event ? `event: ${e.event}${nl}` : ''}data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}${nl}${nl}`).join('');

describe('body usage: tokens from every wire format, read as the client reads', () => {
  it.each<[string, unknown, { inputTokens: number; outputTokens: number }]>([
    ['OpenAI chat completion', { choices: [{ message: { content: 'é "usage" {' } }], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } }, { inputTokens: 9, outputTokens: 3 }],
    ['OpenAI embeddings', { data: [{ embedding: [0.5] }], usage: { prompt_tokens: 4, total_tokens: 4 } }, { inputTokens: 4, outputTokens: 0 }],
    ['OpenAI Responses', { output: [], usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 5 }, output_tokens: 7 } }, { inputTokens: 20, outputTokens: 7 }],
    ['Anthropic message (cache reads and writes are input)', { content: [], usage: { input_tokens: 12, cache_creation_input_tokens: 3, cache_read_input_tokens: 100, output_tokens: 4 } }, { inputTokens: 115, outputTokens: 4 }],
    ['Gemini (thinking tokens are output)', { candidates: [], usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 3, thoughtsTokenCount: 6 } }, { inputTokens: 11, outputTokens: 9 }],
    ['Gemini streamGenerateContent without alt=sse (an array: the last has the totals)', [{ usageMetadata: { promptTokenCount: 11 } }, { usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 5 } }], { inputTokens: 11, outputTokens: 5 }],
    ['Bedrock Converse', { output: { message: {} }, stopReason: 'end_turn', usage: { inputTokens: 30, outputTokens: 8, totalTokens: 38 } }, { inputTokens: 30, outputTokens: 8 }],
    ['Bedrock Titan embeddings', { embedding: [0.5], inputTextTokenCount: 6 }, { inputTokens: 6, outputTokens: 0 }],
  ])('JSON: %s', (_name, doc, usage) => {
    expect(sameWhateverTheChunks('application/json; charset=utf-8', JSON.stringify(doc))).toEqual({ usage });
  });

  it('JSON without usage, or empty: no tokens; a JSON answer that does not parse is incomplete', () => {
    expect(verdict('application/json', enc.encode('{"object":"list","data":[]}'))).toEqual({ usage: undefined });
    expect(verdict('application/json', enc.encode(''))).toEqual({ usage: undefined });
    expect(verdict('application/json', enc.encode('{"choices": [{"mess'))).toEqual({ usage: undefined, incomplete: 'the JSON answer does not parse' });
  });

  it('a JSON answer larger than 256 KiB is not kept whole: its usage is found in its last bytes', () => {
    const big = JSON.stringify({ data: Array.from({ length: 40_000 }, (_, i) => ({ index: i, embedding: [0.25, -0.5] })), model: 'm', usage: { prompt_tokens: 40_000, total_tokens: 40_000 } });
    expect(big.length).toBeGreaterThan(1_000_000);
    expect(verdict('application/json', enc.encode(big), 65_536)).toEqual({ usage: { inputTokens: 40_000, outputTokens: 0 } });
    const gemini = JSON.stringify({ candidates: [{ content: { parts: [{ text: 'x'.repeat(400_000) }] } }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2 } });
    expect(verdict('application/json', enc.encode(gemini), 16_384)).toEqual({ usage: { inputTokens: 3, outputTokens: 2 } });
  });

  it('SSE, OpenAI chat: usage from the final chunk; complete at [DONE], incomplete without it', () => {
    const base = { object: 'chat.completion.chunk', model: 'm' };
    const events = [
      { data: { ...base, choices: [{ delta: { content: 'Hel' } }], usage: null } },
      { data: { ...base, choices: [{ delta: { content: 'lo "usage": {' } }], usage: null } },
      { data: { ...base, choices: [], usage: { prompt_tokens: 9, completion_tokens: 2 } } },
    ];
    expect(sameWhateverTheChunks('text/event-stream', sse([...events, { data: '[DONE]' }], '\r\n'))).toEqual({ usage: { inputTokens: 9, outputTokens: 2 } });
    expect(sameWhateverTheChunks('text/event-stream', sse(events))).toEqual({ usage: { inputTokens: 9, outputTokens: 2 }, incomplete: 'the stream ended before [DONE]' });
  });

  it('SSE, OpenAI chat: an {"error"} chunk is classified (a 502 is transient, a quota a rate limit)', () => {
    const first = { data: { object: 'chat.completion.chunk', choices: [{ delta: { content: 'a' } }] } };
    expect(sameWhateverTheChunks('text/event-stream', sse([first, { data: { error: { message: 'upstream overloaded', code: 502 } } }]))).toEqual({
      usage: undefined,
      error: { kind: 'transient', status: 502, message: 'upstream overloaded' },
    });
    expect(verdict('text/event-stream', enc.encode(sse([first, { data: { error: { message: 'quota', type: 'insufficient_quota', code: 'insufficient_quota' } } }]))).error).toMatchObject({ kind: 'rate_limit', status: 429 });
  });

  it('SSE, Anthropic: input from message_start, output from message_delta; complete at message_stop; event: error classified', () => {
    const start = { event: 'message_start', data: { type: 'message_start', message: { usage: { input_tokens: 12, cache_read_input_tokens: 8, output_tokens: 1 } } } };
    const delta = { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } } };
    const text = { event: 'content_block_delta', data: { type: 'content_block_delta', delta: { type: 'text_delta', text: 'hi' } } };
    const stop = { event: 'message_stop', data: { type: 'message_stop' } };
    expect(sameWhateverTheChunks('text/event-stream; charset=utf-8', sse([start, { event: 'ping', data: { type: 'ping' } }, text, delta, stop]))).toEqual({ usage: { inputTokens: 20, outputTokens: 5 } });
    expect(sameWhateverTheChunks('text/event-stream', sse([start, text]))).toEqual({ usage: { inputTokens: 20, outputTokens: 1 }, incomplete: 'the stream ended before message_stop' });
    const overloaded = { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } };
    expect(verdict('text/event-stream', enc.encode(sse([start, overloaded]))).error).toEqual({ kind: 'transient', status: 500, message: 'Overloaded' });
  });

  it('SSE, Responses API: usage from response.completed; response.failed is an error', () => {
    const created = { event: 'response.created', data: { type: 'response.created', response: { id: 'r', usage: null, error: null } } };
    const done = { event: 'response.completed', data: { type: 'response.completed', response: { usage: { input_tokens: 9, output_tokens: 4 } } } };
    expect(sameWhateverTheChunks('text/event-stream', sse([created, done]))).toEqual({ usage: { inputTokens: 9, outputTokens: 4 } });
    expect(verdict('text/event-stream', enc.encode(sse([created])))).toEqual({ usage: undefined, incomplete: 'the stream ended before response.completed' });
    const failed = { event: 'response.failed', data: { type: 'response.failed', response: { error: { code: 'server_error', message: 'boom' } } } };
    expect(verdict('text/event-stream', enc.encode(sse([created, failed]))).error).toMatchObject({ kind: 'transient', message: 'boom' });
  });

  it('SSE, Gemini: cumulative usageMetadata, the last wins; an {"error"} event keeps its RPC status', () => {
    const chunk = (n?: number) => ({ data: { candidates: [{ content: { parts: [{ text: 'w ' }] } }], usageMetadata: { promptTokenCount: 11, ...(n ? { candidatesTokenCount: n } : {}) } } });
    expect(sameWhateverTheChunks('text/event-stream', sse([chunk(), chunk(), chunk(3)], '\r\n'))).toEqual({ usage: { inputTokens: 11, outputTokens: 3 } });
    expect(verdict('text/event-stream', enc.encode(sse([chunk(), { data: { error: { code: 429, message: 'quota', status: 'RESOURCE_EXHAUSTED' } } }]))).error).toEqual({ kind: 'rate_limit', status: 429, message: 'quota' });
  });

  describe('AWS event-stream (Bedrock ConverseStream)', () => {
    const codec = new EventStreamCodec((b) => dec.decode(b), (s) => enc.encode(s));
    const frame = (type: 'event' | 'exception', name: string, body: unknown): Uint8Array =>
      codec.encode({
        headers: {
          ':message-type': { type: 'string', value: type },
          [type === 'event' ? ':event-type' : ':exception-type']: { type: 'string', value: name },
          ':content-type': { type: 'string', value: 'application/json' },
        },
        body: enc.encode(JSON.stringify(body)),
      });
    const join = (frames: Uint8Array[]): Uint8Array => {
      const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      let off = 0;
      for (const f of frames) {
        out.set(f, off);
        off += f.length;
      }
      return out;
    };
    const start = frame('event', 'messageStart', { role: 'assistant' });
    const delta = frame('event', 'contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'hi' } });
    const stop = frame('event', 'messageStop', { stopReason: 'end_turn' });
    const meta = frame('event', 'metadata', { usage: { inputTokens: 11, outputTokens: 3, totalTokens: 14 } });
    const CT = 'application/vnd.amazon.eventstream';

    it('usage from the metadata frame, whatever the chunk boundaries', () => {
      expect(sameWhateverTheChunks(CT, join([start, delta, stop, meta]))).toEqual({ usage: { inputTokens: 11, outputTokens: 3 } });
    });

    it('a stream that ends before messageStop, or inside a frame, is incomplete; a bad CRC is malformed', () => {
      expect(verdict(CT, join([start, delta]))).toEqual({ usage: undefined, incomplete: 'the stream ended before messageStop' });
      const cut = join([start, delta, stop, meta]);
      expect(verdict(CT, cut.subarray(0, cut.length - 5)).incomplete).toBe('the stream ended before messageStop');
      const bad = join([start, delta]);
      bad[bad.length - 1] ^= 0xff;
      expect(verdict(CT, bad).incomplete).toBe('a malformed event-stream frame');
    });

    it('an exception frame is classified by its type (throttling: a rate limit)', () => {
      expect(verdict(CT, join([start, delta, frame('exception', 'throttlingException', { message: 'Too many tokens' })])).error).toMatchObject({ kind: 'rate_limit', status: 429 });
      expect(verdict(CT, join([start, frame('exception', 'validationException', { message: 'bad' })])).error).toMatchObject({ kind: 'bad_request' });
    });

    it('conclusive: at messageStop, for a client that stops reading there', () => {
      const t = bodyTracker(CT);
      t?.push(join([start, delta]));
      expect(t?.conclusive()).toBeUndefined();
      t?.push(stop);
      expect(t?.conclusive()).toEqual({ usage: undefined });
    });
  });

  it('conclusive: an SSE stream is conclusive at its end marker or at an error event, not before', () => {
    const t = bodyTracker('text/event-stream');
    t?.push(enc.encode(sse([{ data: { object: 'chat.completion.chunk', choices: [] } }])));
    expect(t?.conclusive()).toBeUndefined();
    t?.push(enc.encode(sse([{ data: { object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } } }, { data: '[DONE]' }])));
    expect(t?.conclusive()).toEqual({ usage: { inputTokens: 1, outputTokens: 2 } });
    const e = bodyTracker('text/event-stream');
    e?.push(enc.encode(sse([{ event: 'error', data: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } } }])));
    expect(e?.conclusive()?.error).toMatchObject({ kind: 'rate_limit' });
    expect(bodyTracker('application/json')?.conclusive()).toBeUndefined();
  });

  it('bodies that carry no usage (audio, files, text, JSON Lines) are not read at all', () => {
    for (const ct of ['audio/mpeg', 'application/octet-stream', 'text/plain', 'application/jsonl', null]) expect(bodyTracker(ct)).toBeUndefined();
    expect(bodyTracker('application/problem+json')).toBeDefined();
  });
});
