import OpenAI, { APIError } from 'openai';
import { ClosedError, LlmRotate, type CallEnd, type CallStart, type LlmRotateOptions, type ProviderName, type UsageEvent } from '../../../lib';
import { AnthropicFake, type AnthropicBehavior } from '../../fakes/anthropic-fake';
import { BedrockFake, type BedrockBehavior } from '../../fakes/bedrock-fake';
import { GeminiFake, type GeminiBehavior } from '../../fakes/gemini-fake';
import type { OpenAiBehavior } from '../../fakes/openai-fake';
import { OpenAiSdkFake, type OpenAiSdkFakeOptions } from '../../fakes/sdk/openai-sdk-fake';
import { keyRow } from '../../support/engine';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { eventually } from './harness';

const CHAT = (extra: object = {}): string => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra });
const POST = (body: string, signal?: AbortSignal): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer managed' }, body, signal });
const secret = (keyId: string): string => `sk-test-${keyId}`;

/** The held body of a successful answer: the lease lasts until it is read, cancelled or broken, and settles accordingly. */
describe('fetchFor: the answer\'s body holds the lease', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  let events: UsageEvent[];
  beforeEach(() => {
    events = [];
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
  });

  async function engine(keys: TestKey[], extra: Omit<Partial<LlmRotateOptions>, 'registry'> & { providers?: LlmRotateOptions['registry']['providers'] } = {}): Promise<LlmRotate> {
    const ranked = keys.map((k, i) => ({ priority: keys.length - i, ...k }));
    const lr = await LlmRotate.create(makeOptions('http://127.0.0.1:9/never-used', ranked, { strategy: 'priority', ...extra }), { logger: recordingLogger().logger });
    lr.onUsage((e) => events.push(e));
    open.push(lr);
    return lr;
  }
  async function openai(o: OpenAiSdkFakeOptions = {}): Promise<OpenAiSdkFake> {
    const f = await OpenAiSdkFake.start(o);
    open.push(f);
    return f;
  }

  it('a streamed answer is settled only once the client has read its last byte', async () => {
    const fake = await openai({ gapMs: 30 });
    const lr = await engine([{ keyId: 'k1' }]);
    const res = await lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT({ stream: true, stream_options: { include_usage: true } })));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect((await keyRow(lr, 'k1')).leasesInUse).toBe(1);
    expect(lr.callsInFlight).toBe(1);
    expect(events).toEqual([]);
    const text = await res.text();
    expect(text).toContain('data: [DONE]');
    expect((await keyRow(lr, 'k1')).leasesInUse).toBe(0);
    expect(lr.callsInFlight).toBe(0);
    expect(events).toEqual([expect.objectContaining({ keyId: 'k1', outcome: 'success', inputTokens: 9, outputTokens: 3 })]);
  });

  it('a body that breaks mid-way is a transient failure of the key; the client sees the break', async () => {
    const fake = await openai({ cutResponsesStreamAfter: 4 });
    const lr = await engine([{ keyId: 'k1' }]);
    const res = await lr.fetchFor('openai')(`${fake.baseUrl}/responses`, POST(JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', stream: true })));
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow(/openai answer broke while it was read/);
    expect(events).toEqual([expect.objectContaining({ keyId: 'k1', outcome: 'transient', errorClass: 'ProviderTransportError' })]);
    expect(await keyRow(lr, 'k1')).toMatchObject({ consecutiveFailures: 1, leasesInUse: 0 });
  });

  describe('an error inside a 200 stream, or a stream that ends short of its end marker, counts against the key', () => {
    it.each<[string, OpenAiBehavior, string]>([
      ['OpenAI chat: an {"error"} chunk midway', 'stream_error_midway', 'transient'],
      ['OpenAI chat: an {"error"} chunk first', 'stream_error_first', 'transient'],
    ])('%s', async (_name, behavior, outcome) => {
      const fake = await openai();
      const lr = await engine([{ keyId: 'k1' }]);
      fake.script(secret('k1'), behavior);
      const client = new OpenAI({ apiKey: 'managed', baseURL: fake.baseUrl, fetch: lr.fetchFor('openai'), maxRetries: 0 });
      const err = await (async () => {
        for await (const c of await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true })) void c;
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(APIError);
      await eventually(() => events.length === 1, 'the attempt to settle');
      expect(events[0]).toMatchObject({ keyId: 'k1', outcome });
      expect(await keyRow(lr, 'k1')).toMatchObject({ consecutiveFailures: 1, leasesInUse: 0 });
    });

    it.each<[string, AnthropicBehavior, string, number]>([
      ['Anthropic: event: error (overloaded) midway', 'stream_error_midway', 'transient', 1],
      ['Anthropic: a stream that closes before message_stop', 'stream_truncated', 'transient', 1],
    ])('%s', async (_name, behavior, outcome, failures) => {
      const fake = await AnthropicFake.start();
      open.push(fake);
      const lr = await engine([{ keyId: 'k1', provider: 'anthropic', models: [] }]);
      fake.script(secret('k1'), behavior);
      const res = await lr.fetchFor('anthropic')(`${fake.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-3-5-haiku-latest', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
      expect(events).toEqual([expect.objectContaining({ keyId: 'k1', outcome })]);
      expect(await keyRow(lr, 'k1')).toMatchObject({ consecutiveFailures: failures });
    });

    it('Gemini: an {"error"} event (UNAVAILABLE) midway', async () => {
      const fake = await GeminiFake.start();
      open.push(fake);
      const lr = await engine([{ keyId: 'k1', provider: 'google_ai_studio', secret: 'AIza-body-k1', models: [] }]);
      fake.script('AIza-body-k1', 'stream_error_midway' as GeminiBehavior);
      const res = await lr.fetchFor('google_ai_studio')(`${fake.url}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, POST(JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] })));
      await res.text();
      expect(events).toEqual([expect.objectContaining({ keyId: 'k1', outcome: 'transient', status: 503 })]);
    });

    it('Bedrock: a throttlingException frame midway cools the key', async () => {
      const fake = await BedrockFake.start({ apiKeys: ['br-body-k1'] });
      open.push(fake);
      const lr = await engine([{ keyId: 'k1', provider: 'bedrock', secret: 'br-body-k1', models: [], metadata: { region: 'us-east-1' } }]);
      fake.script('br-body-k1', 'stream_exception_midway' as BedrockBehavior);
      const res = await lr.fetchFor('bedrock')(`${fake.url}/model/amazon.nova-lite-v1%3A0/converse-stream`, POST(JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] })));
      expect(res.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
      await res.arrayBuffer();
      expect(events).toEqual([expect.objectContaining({ keyId: 'k1', outcome: 'rate_limit' })]);
      expect((await keyRow(lr, 'k1')).state).toBe('COOLDOWN');
    });

    it('Bedrock: a complete ConverseStream reports its usage (metadata frame)', async () => {
      const fake = await BedrockFake.start({ apiKeys: ['br-body-k1'], chunking: 'split' });
      open.push(fake);
      const lr = await engine([{ keyId: 'k1', provider: 'bedrock', secret: 'br-body-k1', models: [], metadata: { region: 'us-east-1' } }]);
      const res = await lr.fetchFor('bedrock')(`${fake.url}/model/amazon.nova-lite-v1%3A0/converse-stream`, POST(JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] })));
      await res.arrayBuffer();
      expect(events).toEqual([expect.objectContaining({ keyId: 'k1', outcome: 'success', inputTokens: 11, outputTokens: 3 })]);
    });
  });

  it('only the reads the client waits for are timed: an upstream that stalls is a timeout, a client that takes its time is nobody\'s fault', async () => {
    const stalls = await openai({ gapMs: 900 });
    const lr = await engine([{ keyId: 'k1' }], { providers: { openai: { timeoutMs: 300 } } });
    const f = lr.fetchFor('openai');
    const res = await f(`${stalls.baseUrl}/chat/completions`, POST(CHAT({ stream: true })));
    await expect(res.text()).rejects.toThrow(/did not answer within 300 ms/);
    expect(events.at(-1)).toMatchObject({ outcome: 'transient', errorClass: 'ProviderTimeoutError' });

    const quick = await openai({ gapMs: 1 });
    const slowReader = await f(`${quick.baseUrl}/chat/completions`, POST(CHAT({ stream: true })));
    const reader = (slowReader.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 900));
    while (!(await reader.read()).done);
    expect(events.at(-1)).toMatchObject({ outcome: 'success' });
  });

  it('an abort before the answer arrives rejects like fetch does, cancels the upstream request, and never counts against the key', async () => {
    const fake = await openai();
    const lr = await engine([{ keyId: 'k1' }, { keyId: 'k2' }]);
    fake.script(secret('k1'), 'timeout');
    const ctrl = new AbortController();
    const p = lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT(), ctrl.signal));
    await eventually(() => fake.requests.length === 1, 'the request to reach the fake');
    ctrl.abort();
    const err = await p.catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    await eventually(() => fake.http.abortedResponses === 1, 'the upstream request to be cancelled');
    expect(events).toEqual([expect.objectContaining({ keyId: 'k1', outcome: 'cancelled' })]);
    expect(fake.hits(secret('k2'))).toBe(0);
    expect(await keyRow(lr, 'k1')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });

    const reason = new Error('the user left');
    const ctrl2 = new AbortController();
    ctrl2.abort(reason);
    await expect(lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT(), ctrl2.signal))).rejects.toBe(reason);
    expect(lr.callsInFlight).toBe(0);
  });

  it('a client that cancels the body mid-stream releases the key (cancelled, not its fault)', async () => {
    const fake = await openai({ gapMs: 30 });
    const lr = await engine([{ keyId: 'k1' }]);
    const res = await lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT({ stream: true })));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    expect(events).toEqual([expect.objectContaining({ outcome: 'cancelled' })]);
    expect(await keyRow(lr, 'k1')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });
    await eventually(() => fake.http.abortedResponses === 1, 'the upstream response to be cancelled');
  });

  it('usage of a large JSON answer is read from its last bytes, never from a buffered whole', async () => {
    const fake = await openai();
    const lr = await engine([{ keyId: 'k1', models: [] }]);
    const input = Array.from({ length: 6000 }, (_, i) => `text number ${i}`);
    const res = await lr.fetchFor('openai')(`${fake.baseUrl}/embeddings`, POST(JSON.stringify({ model: 'text-embedding-3-small', input, encoding_format: 'float' })));
    const body = await res.text();
    expect(body.length).toBeGreaterThan(256 * 1024);
    expect(events).toEqual([expect.objectContaining({ outcome: 'success', inputTokens: 6000 * 3, outputTokens: 0 })]);
  });

  it('observers see a fetch as a call (source fetch) with its attempts; it ends when the body has been read', async () => {
    const fake = await openai();
    const lr = await engine([{ keyId: 'k1' }, { keyId: 'k2' }]);
    fake.script(secret('k1'), 'rate_limit');
    const starts: CallStart[] = [];
    const ends: CallEnd[] = [];
    const attempts: string[] = [];
    lr.addObserver({
      callStarted: (c) => {
        starts.push(c);
        return { attemptStarted: (a) => (attempts.push(a.keyId), { attemptEnded: (e) => attempts.push(`${e.keyId}:${e.outcome}`) }), callEnded: (e) => ends.push(e) };
      },
    });
    const res = await lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT()));
    expect(starts).toEqual([expect.objectContaining({ source: 'fetch', provider: 'openai' as ProviderName, model: 'gpt-4o-mini' })]);
    expect(ends).toEqual([]);
    await res.json();
    expect(attempts).toEqual(['k1', 'k1:rate_limit', 'k2', 'k2:success']);
    expect(ends).toEqual([expect.objectContaining({ outcome: 'success', keyId: 'k2', attempts: 2, usage: { inputTokens: 9, outputTokens: 3 } })]);
  });

  it('close() waits for an answer still being read; a fetch after close is refused', async () => {
    const fake = await openai({ gapMs: 20 });
    const lr = await LlmRotate.create(makeOptions('http://127.0.0.1:9', [{ keyId: 'k1' }]), { logger: recordingLogger().logger });
    const f = lr.fetchFor('openai');
    const res = await f(`${fake.baseUrl}/chat/completions`, POST(CHAT({ stream: true })));
    let closed = false;
    const closing = lr.close({ drainTimeoutMs: 10_000 }).then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    expect(await res.text()).toContain('[DONE]');
    await closing;
    await expect(f(`${fake.baseUrl}/chat/completions`, POST(CHAT()))).rejects.toBeInstanceOf(ClosedError);
    expect(() => lr.fetchFor('openai')).toThrow(ClosedError);
  });
});
