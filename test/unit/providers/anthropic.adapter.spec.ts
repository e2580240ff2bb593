import { ProviderTransportError, UnsupportedFeatureError } from '../../../lib/core/errors';
import type { ProviderSettings } from '../../../lib/core/config/resolved-config';
import { AnthropicAdapter } from '../../../lib/core/providers/anthropic/anthropic.adapter';
import { anthropicResetWaitMs } from '../../../lib/core/providers/anthropic/anthropic.limits';
import type { CallTarget, StreamDelta, UnifiedRequest } from '../../../lib/core/providers/provider.interfaces';
import { Exchange } from '../../../lib/core/transport/http';
import type { ChatMessage } from '../../../lib/core/types';

const adapter = new AnthropicAdapter();
const NOW = Date.UTC(2026, 0, 1);
const SECRET = 'sk-ant-api03-unit-secret';

function target(over: Partial<ProviderSettings> = {}, baseUrl = 'https://api.anthropic.com'): CallTarget {
  const settings: ProviderSettings = {
    provider: 'anthropic',
    timeoutMs: 5000,
    headers: {},
    health: { cooldownMs: 30_000, quarantineMs: 300_000, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 },
    ...over,
  };
  return { provider: 'anthropic', keyId: 'k', model: 'claude-sonnet-4-5', secret: SECRET, baseUrl, settings, metadata: {} };
}

function body(messages: ChatMessage[], extra: Partial<UnifiedRequest> = {}, stream = false): Record<string, unknown> {
  return JSON.parse(adapter.buildRequest(target(), { messages, ...extra }, stream).body) as Record<string, unknown>;
}

async function deltas(sse: string): Promise<StreamDelta[]> {
  const ex = new Exchange('anthropic', 5000, undefined);
  const out: StreamDelta[] = [];
  try {
    for await (const d of adapter.readStream(ex, new Response(sse))) out.push(d);
  } finally {
    ex.finish(false);
  }
  return out;
}

const ev = (type: string, data: Record<string, unknown> = {}): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const headers = (h: Record<string, string>): Headers => new Headers(h);
const at = (s: number): string => new Date(NOW + s * 1000).toISOString();

describe('AnthropicAdapter.buildRequest', () => {
  it('posts to {base}/v1/messages with x-api-key, anthropic-version and provider headers (which cannot replace the key)', () => {
    const r = adapter.buildRequest(target({ headers: { 'anthropic-beta': 'x', 'x-api-key': 'not-this' } }, 'http://proxy.local/anthropic/'), { messages: [{ role: 'user', content: 'hi' }] }, true);
    expect(r.url).toBe('http://proxy.local/anthropic/v1/messages');
    expect(r.headers).toEqual({ 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'x', 'x-api-key': SECRET, accept: 'text/event-stream' });
    expect(r.body).not.toContain(SECRET);
    expect(adapter.buildRequest(target({ anthropicVersion: '2026-10-21' }), { messages: [{ role: 'user', content: 'hi' }] }, false).headers['anthropic-version']).toBe('2026-10-21');
  });

  it('hoists every system message (and each of its text parts) into `system`, in order', () => {
    const b = body([
      { role: 'system', content: [{ type: 'text', text: 'A.' }, { type: 'text', text: 'B.' }] },
      { role: 'user', content: 'q' },
      { role: 'system', content: 'C.' },
      { role: 'system', content: '' },
    ]);
    expect(b.system).toBe('A.\n\nB.\n\nC.');
    expect(b.messages).toEqual([{ role: 'user', content: 'q' }]);
  });

  it('merges consecutive same-role turns into one, dropping empty texts, and keeps an assistant-first or prefill turn', () => {
    const b = body([
      { role: 'assistant', content: 'How can I help?' },
      { role: 'user', content: '' },
      { role: 'user', content: 'one' },
      { role: 'system', content: 'S' },
      { role: 'user', content: [{ type: 'text', text: 'two' }, { type: 'text', text: '' }] },
      { role: 'assistant', content: 'The answer is' },
    ]);
    expect(b.messages).toEqual([
      { role: 'assistant', content: 'How can I help?' },
      { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] },
      { role: 'assistant', content: 'The answer is' },
    ]);
  });

  it('defaults max_tokens to 4096 and maps sampling options; an empty stop list is left out', () => {
    expect(body([{ role: 'user', content: 'x' }], { stop: [] })).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 4096, messages: [{ role: 'user', content: 'x' }] });
    expect(body([{ role: 'user', content: 'x' }], { maxTokens: 7, temperature: 0, topP: 0.5, stop: ['END'] }, true)).toMatchObject({ max_tokens: 7, temperature: 0, top_p: 0.5, stop_sequences: ['END'], stream: true });
  });

  it('rejects a conversation with no user or assistant text with an error naming the provider', () => {
    expect(() => body([{ role: 'system', content: 'only instructions' }])).toThrow(UnsupportedFeatureError);
    expect(() => body([{ role: 'system', content: 'x' }, { role: 'user', content: '' }])).toThrow(/^anthropic does not support/);
  });
});

describe('AnthropicAdapter.parseResponse', () => {
  it('joins text blocks, skips other blocks, and counts cached input tokens as input', () => {
    const r = adapter.parseResponse({
      type: 'message',
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'thinking', thinking: '...' }, { type: 'text', text: 'Hello ' }, { type: 'tool_use', id: 't', name: 'f', input: {} }, { type: 'text', text: 'world' }],
      stop_reason: 'tool_use',
      usage: { input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 7 },
    });
    expect(r).toEqual({ content: 'Hello world', finishReason: 'tool_calls', usage: { inputTokens: 115, outputTokens: 7, cachedInputTokens: 100 }, model: 'claude-sonnet-4-5-20250929' });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'other'],
  ])('maps stop_reason %s to %s', (reason, finish) => {
    expect(adapter.parseResponse({ content: [], stop_reason: reason }).finishReason).toBe(finish);
  });

  it('a body that is not a message is malformed (a typed ProviderTransportError, never a TypeError)', () => {
    const malformed = expect.objectContaining({ name: 'ProviderTransportError', code: 'EMALFORMED' });
    expect(() => adapter.parseResponse({ type: 'error', error: { type: 'api_error' } })).toThrow(malformed);
    expect(() => adapter.parseResponse(null)).toThrow(malformed);
    expect(() => adapter.parseResponse({ content: [{ type: 'text', text: 3 }] })).toThrow(malformed);
  });
});

describe('AnthropicAdapter.readStream', () => {
  it('decodes text deltas, usage from message_start and message_delta, and the stop reason', async () => {
    const out = await deltas(
      ev('message_start', { message: { usage: { input_tokens: 20, cache_read_input_tokens: 30, output_tokens: 1 } } }) +
        ev('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }) +
        ev('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }) +
        ev('content_block_stop', { index: 0 }) +
        ev('content_block_start', { index: 1, content_block: { type: 'text', text: 'Hi' } }) +
        'event: ping\ndata: {"type": "ping"}\n\n' +
        ev('content_block_delta', { index: 1, delta: { type: 'text_delta', text: ' there' } }) +
        ev('content_block_delta', { index: 1, delta: { type: 'text_delta', text: '' } }) +
        ev('content_block_stop', { index: 1 }) +
        ev('message_delta', { delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 9 } }) +
        ev('message_stop') +
        ev('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'after stop' } }),
    );
    expect(out).toEqual([{ usage: { inputTokens: 50, cachedInputTokens: 30 } }, { delta: 'Hi' }, { delta: ' there' }, { finishReason: 'length', usage: { outputTokens: 9 } }]);
  });

  it('takes cumulative input counts from message_delta when newer API versions send them', async () => {
    const out = await deltas(ev('message_start', { message: { usage: { input_tokens: 0 } } }) + ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 33, output_tokens: 4 } }) + ev('message_stop'));
    expect(out.at(-1)).toEqual({ finishReason: 'stop', usage: { inputTokens: 33, outputTokens: 4 } });
  });

  it.each([
    ['overloaded_error', 'transient', 529],
    ['rate_limit_error', 'rate_limit', 429],
    ['api_error', 'transient', 500],
    ['invalid_request_error', 'bad_request', 400],
    ['something_new', 'transient', 500],
  ])('turns an `event: error` of type %s into a %s StreamDelta error', async (type, kind, status) => {
    const out = await deltas(ev('message_start', { message: { usage: { input_tokens: 1 } } }) + ev('error', { error: { type, message: 'Overloaded' } }) + ev('message_stop'));
    expect(out.at(-1)).toEqual({ error: { kind, status, message: 'Overloaded' } });
  });

  it('reports a stream that ends before message_stop as a malformed (transport) failure', async () => {
    const e = await deltas(ev('message_start', { message: { usage: { input_tokens: 1 } } }) + ev('content_block_delta', { delta: { type: 'text_delta', text: 'cut' } })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProviderTransportError);
    expect(e).toMatchObject({ provider: 'anthropic', code: 'EMALFORMED' });
  });
});

describe('AnthropicAdapter.classifyError', () => {
  const err = (type: string, message = 'm'): string => JSON.stringify({ type: 'error', error: { type, message } });
  it.each([
    [429, err('rate_limit_error'), 'rate_limit'],
    [529, err('overloaded_error', 'Overloaded'), 'transient'],
    [500, err('api_error'), 'transient'],
    [502, '<html>bad gateway</html>', 'transient'],
    [504, err('timeout_error'), 'transient'],
    [401, err('authentication_error', 'invalid x-api-key'), 'auth'],
    [403, err('permission_error'), 'auth'],
    [402, err('billing_error'), 'auth'],
    [400, err('invalid_request_error', 'Your credit balance is too low to access the Anthropic API.'), 'auth'],
    [400, err('invalid_request_error', 'max_tokens: Field required'), 'bad_request'],
    [404, err('not_found_error', 'model: claude-nope'), 'bad_request'],
    [413, err('request_too_large'), 'bad_request'],
  ])('%i %s → %s', (status, text, kind) => {
    const c = adapter.classifyError(status, headers({}), text, NOW);
    expect(c.kind).toBe(kind);
    expect(c.status).toBe(status);
  });

  it('keeps the vendor message for the error text', () => {
    expect(adapter.classifyError(529, headers({}), err('overloaded_error', 'Overloaded'), NOW).message).toBe('Overloaded');
  });

  it('a 429 waits retry-after (seconds or HTTP date) before any reset header', () => {
    const limits = { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': at(50) };
    expect(adapter.classifyError(429, headers({ 'retry-after': '7', ...limits }), err('rate_limit_error'), NOW).retryAfterMs).toBe(7000);
    expect(adapter.classifyError(429, headers({ 'retry-after': new Date(NOW + 9000).toUTCString() }), err('rate_limit_error'), NOW).retryAfterMs).toBe(9000);
  });

  it('a 429 without retry-after waits for the spent window, else the latest reset; without any, the provider default', () => {
    const spent = { 'anthropic-ratelimit-tokens-remaining': '0', 'anthropic-ratelimit-tokens-reset': at(40), 'anthropic-ratelimit-requests-remaining': '5', 'anthropic-ratelimit-requests-reset': at(55) };
    expect(adapter.classifyError(429, headers(spent), err('rate_limit_error'), NOW).retryAfterMs).toBe(40_000);
    const none = { 'anthropic-ratelimit-output-tokens-remaining': '100', 'anthropic-ratelimit-output-tokens-reset': at(12), 'anthropic-ratelimit-input-tokens-remaining': '9', 'anthropic-ratelimit-input-tokens-reset': at(3) };
    expect(adapter.classifyError(429, headers(none), err('rate_limit_error'), NOW).retryAfterMs).toBe(12_000);
    expect(adapter.classifyError(429, headers({ 'anthropic-ratelimit-requests-reset': 'soon' }), err('rate_limit_error'), NOW).retryAfterMs).toBeUndefined();
    expect(anthropicResetWaitMs(headers({ 'anthropic-ratelimit-requests-reset': at(-5), 'anthropic-ratelimit-requests-remaining': '0' }), NOW)).toBeUndefined();
  });

  it('no wait is attached to errors that are not rate limits', () => {
    expect(adapter.classifyError(529, headers({ 'retry-after': '3' }), err('overloaded_error'), NOW).retryAfterMs).toBeUndefined();
  });
});

describe('AnthropicAdapter.successCooldownUntil', () => {
  it('returns the latest reset among windows that say remaining 0', () => {
    const h = headers({
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': at(10),
      'anthropic-ratelimit-input-tokens-remaining': '0',
      'anthropic-ratelimit-input-tokens-reset': at(30),
      'anthropic-ratelimit-output-tokens-remaining': '5',
      'anthropic-ratelimit-output-tokens-reset': at(90),
    });
    expect(adapter.successCooldownUntil(h, NOW)).toBe(NOW + 30_000);
  });

  it('is undefined while windows have room, or when the reset is unreadable or past', () => {
    expect(adapter.successCooldownUntil(headers({ 'anthropic-ratelimit-requests-remaining': '1', 'anthropic-ratelimit-requests-reset': at(10) }), NOW)).toBeUndefined();
    expect(adapter.successCooldownUntil(headers({ 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': 'later' }), NOW)).toBeUndefined();
    expect(adapter.successCooldownUntil(headers({ 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': at(-1) }), NOW)).toBeUndefined();
    expect(adapter.successCooldownUntil(headers({}), NOW)).toBeUndefined();
  });
});
