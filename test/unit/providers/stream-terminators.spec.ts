import { CallCancelledError, ProviderTransportError } from '../../../lib';
import type { ProviderSettings } from '../../../lib/core/config/resolved-config';
import type { CallTarget, ProviderAdapter, StreamDelta } from '../../../lib/core/providers/provider.interfaces';
import { createAdapters } from '../../../lib/core/providers/registry';
import { Exchange } from '../../../lib/core/transport/http';
import type { ProviderName } from '../../../lib/core/types';

/**
 * Each wire format's terminator decides whether a stream is complete: OpenAI-compatible `[DONE]` or a
 * `finish_reason` (some compatible servers never send `[DONE]`); Gemini a candidate's `finishReason`; Anthropic
 * `message_stop`. Before it, an end (clean or broken) is a cut-short stream; after it, a broken connection loses
 * nothing of the answer.
 */

const adapters = createAdapters();
const enc = new TextEncoder();
const settings = (provider: ProviderName): ProviderSettings => ({ provider, timeoutMs: 5000, headers: {}, health: { cooldownMs: 1, quarantineMs: 1, maxConsecutiveFailures: 3, maxBenchMs: 1 } });
const target = (provider: ProviderName): CallTarget => ({ provider, keyId: 'k', model: 'm', secret: 's', baseUrl: 'http://127.0.0.1:1', settings: settings(provider), metadata: {} });

/** A body of `events`, then a clean end, or a connection reset (`thenReset`). */
function response(events: string[], thenReset: boolean, type = 'text/event-stream'): Response {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < events.length) c.enqueue(enc.encode(events[i++]));
      else if (thenReset) c.error(Object.assign(new TypeError('terminated'), { cause: { code: 'ECONNRESET' } }));
      else c.close();
    },
  });
  return new Response(body, { headers: { 'content-type': type } });
}

async function decode(provider: ProviderName, res: Response, signal?: AbortSignal): Promise<{ deltas: StreamDelta[]; error?: unknown }> {
  const ex = new Exchange(provider, 5000, signal);
  const deltas: StreamDelta[] = [];
  try {
    for await (const d of (adapters[provider] as ProviderAdapter).readStream(ex, res, target(provider))) deltas.push(d);
    return { deltas };
  } catch (error) {
    return { deltas, error };
  } finally {
    ex.finish(false);
  }
}

const sse = (o: unknown): string => `data: ${typeof o === 'string' ? o : JSON.stringify(o)}\n\n`;
const openAi = (content: string | null, finish: string | null = null): string => sse({ choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] });
const gemini = (text: string, finish?: string): string => sse({ candidates: [{ content: { parts: [{ text }] }, ...(finish ? { finishReason: finish } : {}) }] });
const anthropic = (type: string, data: Record<string, unknown> = {}): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

const cutShort = expect.objectContaining({ name: 'ProviderTransportError', code: 'EMALFORMED' });

describe.each(['openai', 'openrouter', 'azure_openai'] as const)('%s stream terminators', (p) => {
  it('[DONE] completes the stream', async () => {
    expect(await decode(p, response([openAi('Hi'), openAi(null, 'stop'), sse('[DONE]')], false))).toEqual({ deltas: [{ delta: 'Hi' }, { finishReason: 'stop' }] });
  });
  it('a finish_reason without [DONE] completes it (servers that omit [DONE]); a reset after it loses only the usage', async () => {
    for (const reset of [false, true]) {
      expect(await decode(p, response([openAi('Hi'), openAi(null, 'length')], reset))).toEqual({ deltas: [{ delta: 'Hi' }, { finishReason: 'length' }] });
    }
  });
  it('an end before either is cut short; so is a reset', async () => {
    expect((await decode(p, response([openAi('Hi')], false))).error).toEqual(cutShort);
    expect((await decode(p, response([openAi('Hi')], true))).error).toMatchObject({ name: 'ProviderTransportError', code: 'ECONNRESET' });
    expect((await decode(p, response([], false))).error).toEqual(cutShort);
  });
  it('a caller abort after the finish is still a cancellation', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    expect((await decode(p, response([openAi('Hi'), openAi(null, 'stop')], true), ctrl.signal)).error).toBeInstanceOf(CallCancelledError);
  });
});

describe.each(['google_ai_studio', 'google_vertex'] as const)('%s stream terminators', (p) => {
  it('a finishReason completes the stream, even if the connection then breaks', async () => {
    for (const reset of [false, true]) {
      expect(await decode(p, response([gemini('Hi '), gemini('there', 'STOP')], reset))).toEqual({ deltas: [{ delta: 'Hi ' }, { delta: 'there', finishReason: 'stop' }] });
    }
  });
  it('an end without a finishReason is cut short', async () => {
    expect((await decode(p, response([gemini('Hi ')], false))).error).toEqual(cutShort);
  });
});

describe('anthropic stream terminator', () => {
  it('message_stop completes the stream; a stop_reason alone does not', async () => {
    const head = [anthropic('message_start', { message: { usage: { input_tokens: 3 } } }), anthropic('content_block_delta', { delta: { type: 'text_delta', text: 'Hi' } })];
    const stop = anthropic('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } });
    expect((await decode('anthropic', response([...head, stop, anthropic('message_stop')], false))).error).toBeUndefined();
    expect((await decode('anthropic', response([...head, stop], false))).error).toEqual(cutShort);
    expect((await decode('anthropic', response([...head, stop], true))).error).toBeInstanceOf(ProviderTransportError);
  });
});
