import Anthropic, { RateLimitError as AnthropicRateLimitError } from '@anthropic-ai/sdk';
import OpenAI, { NotFoundError, RateLimitError, toFile } from 'openai';
import {
  AllKeysExhaustedError,
  type AcquireContext,
  ConfigurationError,
  InvalidRequestError,
  LlmRotate,
  UnknownModelError,
  type LlmRotateOptions,
  type ProviderName,
  type UsageEvent,
} from '../../../lib';
import { BedrockFake } from '../../fakes/bedrock-fake';
import { GeminiFake } from '../../fakes/gemini-fake';
import type { OpenAiBehavior } from '../../fakes/openai-fake';
import { OpenAiSdkFake, TRANSCRIPT } from '../../fakes/sdk/openai-sdk-fake';
import { keyRow } from '../../support/engine';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';

const CHAT = (model = 'gpt-4o-mini'): string => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
const POST = (body: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer managed' }, body });
const secret = (keyId: string): string => `sk-test-${keyId}`;

describe('fetchFor: rotation, the caller\'s faults, exhaustion', () => {
  let fake: OpenAiSdkFake;
  const engines: LlmRotate[] = [];
  let events: UsageEvent[];
  let logLines: string[] = [];

  beforeAll(async () => {
    fake = await OpenAiSdkFake.start();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.reset();
    events = [];
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((lr) => lr.close()));
  });

  /** Keys tried in the order given (priority strategy). */
  async function engine(keys: TestKey[], extra: Omit<Partial<LlmRotateOptions>, 'registry'> & { providers?: LlmRotateOptions['registry']['providers'] } = {}): Promise<LlmRotate> {
    const ranked = keys.map((k, i) => ({ priority: keys.length - i, ...k }));
    const rec = recordingLogger();
    logLines = rec.lines;
    const lr = await LlmRotate.create(makeOptions('http://127.0.0.1:9/never-used', ranked, { strategy: 'priority', ...extra }), { logger: rec.logger });
    lr.onUsage((e) => events.push(e));
    engines.push(lr);
    return lr;
  }

  const outcomes = (): Array<[string, string]> => events.map((e) => [e.keyId, e.outcome]);

  describe("a caller's fault is handed back untouched and never counts against the key", () => {
    it.each<[string, OpenAiBehavior, number]>([
      ['400', 'bad_request', 400],
      ['404', { status: 404, body: { error: { message: 'The model `gpt-9` does not exist', type: 'invalid_request_error', code: 'model_not_found' } } }, 404],
      ['413', { status: 413, body: { error: { message: 'Request too large', type: 'invalid_request_error' } } }, 413],
      ['422', { status: 422, body: { error: { message: 'Unprocessable', type: 'invalid_request_error' } }, headers: { 'x-request-id': 'req-422' } }, 422],
    ])('%s', async (_name, behavior, status) => {
      const lr = await engine([{ keyId: 'k1' }, { keyId: 'k2' }]);
      fake.script(secret('k1'), behavior);
      const res = await lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT()));
      expect(res.status).toBe(status);
      const expected = typeof behavior === 'object' && 'status' in behavior && !('fault' in behavior) ? behavior.body : { error: { message: "Invalid value for 'temperature'", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } };
      expect(await res.json()).toEqual(expected);
      if (typeof behavior === 'object' && 'headers' in behavior) expect(res.headers.get('x-request-id')).toBe('req-422');
      expect(fake.hits(secret('k2'))).toBe(0);
      expect(await keyRow(lr, 'k1')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });
      expect(outcomes()).toEqual([['k1', 'bad_request']]);
      expect(events[0]).toMatchObject({ source: 'fetch', status });
      expect(lr.callsInFlight).toBe(0);
    });
  });

  it.each<[OpenAiBehavior, string, object]>([
    ['auth', 'auth', { state: 'QUARANTINE' }],
    ['server_error', 'transient', { state: 'ACTIVE', consecutiveFailures: 1 }],
    ['reset', 'transient', { state: 'ACTIVE', consecutiveFailures: 1 }],
    ['timeout', 'transient', { state: 'ACTIVE', consecutiveFailures: 1 }],
  ])('%s: reported against the key, and the request is sent again with the next key transparently', async (behavior, outcome, row) => {
    const lr = await engine([{ keyId: 'k1' }, { keyId: 'k2' }], { providers: { openai: { timeoutMs: 500 } } });
    fake.script(secret('k1'), behavior);
    const res = await lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT()));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ choices: [{ message: { content: 'Hello from gpt-4o-mini' } }] });
    expect(outcomes()).toEqual([
      ['k1', outcome],
      ['k2', 'success'],
    ]);
    expect(await keyRow(lr, 'k1')).toMatchObject(row);
  });

  it("when every key is rate-limited, the last 429 is handed back with Retry-After set to the soonest key's return", async () => {
    const lr = await engine([{ keyId: 'k1' }, { keyId: 'k2' }]);
    fake.script(secret('k1'), 'rate_limit'); // cools for 20 s (x-ratelimit-reset-requests)
    fake.script(secret('k2'), { status: 429, headers: { 'retry-after': '5', 'x-k2': 'yes' }, body: { error: { message: 'k2 is rate limited', type: 'requests', code: 'rate_limit_exceeded' } } });
    const res = await lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT()));
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: { message: 'k2 is rate limited', type: 'requests', code: 'rate_limit_exceeded' } });
    expect(res.headers.get('x-k2')).toBe('yes');
    expect(res.headers.get('retry-after')).toBe('5');
    const ms = Number(res.headers.get('retry-after-ms'));
    expect(ms).toBeGreaterThan(3000);
    expect(ms).toBeLessThanOrEqual(5000);
    expect(outcomes()).toEqual([
      ['k1', 'rate_limit'],
      ['k2', 'rate_limit'],
    ]);
  });

  it("the client's own retry waits for that Retry-After and then succeeds on the key that came back", async () => {
    const short = await OpenAiSdkFake.start({ rateLimitHeaders: { 'retry-after-ms': '400' } });
    try {
      const lr = await engine([{ keyId: 'k1' }]);
      short.script(secret('k1'), 'rate_limit', 'ok');
      const client = new OpenAI({ apiKey: 'managed', baseURL: short.baseUrl, fetch: lr.fetchFor('openai'), maxRetries: 1 });
      const t0 = Date.now();
      const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(r.choices[0].message.content).toBe('Hello from gpt-4o-mini');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
      expect(short.hits(secret('k1'))).toBe(2);
      expect(outcomes()).toEqual([
        ['k1', 'rate_limit'],
        ['k1', 'success'],
      ]);
    } finally {
      await short.close();
    }
  });

  it("onExhausted: 'throw' rejects with AllKeysExhaustedError naming every attempt and the soonest return", async () => {
    const lr = await engine([{ keyId: 'k1' }, { keyId: 'k2' }]);
    fake.script(secret('k1'), 'rate_limit');
    fake.script(secret('k2'), 'auth');
    const err = await lr.fetchFor('openai', { onExhausted: 'throw' })(`${fake.baseUrl}/chat/completions`, POST(CHAT())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllKeysExhaustedError);
    const e = err as AllKeysExhaustedError;
    expect(e.attempts.map((a) => [a.keyId, a.outcome, a.status])).toEqual([
      ['k1', 'rate_limit', 429],
      ['k2', 'auth', 401],
    ]);
    expect(e.retryAfterMs).toBeGreaterThan(0);
    // The 401 echoed k2's key: neither the error nor the events carry it.
    expect(`${e.message} ${JSON.stringify(e.attempts)} ${JSON.stringify(events)}`).not.toContain(secret('k2'));
  });

  it('no secret in what is handed back, thrown, emitted or logged, even when the upstream echoes the key', async () => {
    const keys = [{ keyId: 'k1', secret: 'sk-echoed-secret-k1-0123456789' }, { keyId: 'k2', secret: 'sk-echoed-secret-k2-0123456789' }];
    const lr = await engine(keys, { logUsage: true });
    for (const k of keys) fake.script(k.secret, 'auth'); // "Incorrect API key provided: <the key>."
    const res = await lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT()));
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).toContain('Incorrect API key provided');
    const thrown = await lr.fetchFor('openai', { onExhausted: 'throw' })(`${fake.baseUrl}/chat/completions`, POST(CHAT())).catch((e: unknown) => e);
    const headers: string[] = [];
    res.headers.forEach((v, k) => headers.push(`${k}: ${v}`));
    const everything = [text, ...headers, String(thrown), JSON.stringify((thrown as AllKeysExhaustedError).attempts), JSON.stringify(events), ...logLines].join('\n');
    expect(logLines.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(everything).not.toContain(k.secret);
      expect(everything).not.toContain(k.secret.slice(8, 20));
    }
  });

  describe('no key can be leased at all: a 429 (or 503) in the provider\'s own error format, with Retry-After', () => {
    const lent: AcquireContext[] = [];
    afterEach(async () => {
      await Promise.all(lent.splice(0).map((c) => c.release()));
    });

    /** The only key of `provider`, held by a lent lease (maxConcurrent 1): nothing can be attempted. */
    async function busy(provider: ProviderName, secretValue: string): Promise<LlmRotate> {
      const lr = await engine([{ keyId: 'only', provider, secret: secretValue, models: [], maxConcurrent: 1, metadata: { region: 'us-east-1' } }]);
      lent.push(await lr.acquire(provider));
      return lr;
    }

    it('openai: the client raises its RateLimitError with our explanation and Retry-After', async () => {
      const lr = await busy('openai', 'sk-busy-0123456789');
      const client = new OpenAI({ apiKey: 'managed', baseURL: 'http://127.0.0.1:9/v1', fetch: lr.fetchFor('openai'), maxRetries: 0 });
      const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RateLimitError);
      const e = err as RateLimitError;
      expect(e.message).toMatch(/No key for "gpt-4o-mini" is available now/);
      expect(Number(e.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(e.headers?.get('x-llm-rotate')).toBe('rate_limit');
      expect(e.code).toBe('no_available_key');
      expect(events).toEqual([]);
    });

    it('anthropic: the client raises its RateLimitError (rate_limit_error)', async () => {
      const lr = await busy('anthropic', 'sk-ant-busy-0123456789');
      const client = new Anthropic({ apiKey: 'managed', baseURL: 'http://127.0.0.1:9', fetch: lr.fetchFor('anthropic'), maxRetries: 0 });
      const err = await client.messages.create({ model: 'claude-3-5-haiku-latest', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AnthropicRateLimitError);
      expect((err as AnthropicRateLimitError).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    });

    it.each<[ProviderName, string, (body: unknown, headers: Headers) => void]>([
      ['google_ai_studio', '/v1beta/models/gemini-2.0-flash:generateContent', (b) => expect(b).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } })],
      ['bedrock', '/model/amazon.nova-lite-v1%3A0/converse', (b, h) => {
        expect(b).toMatchObject({ message: expect.stringMatching(/available/) });
        expect(h.get('x-amzn-errortype')).toBe('ThrottlingException');
      }],
    ])('%s', async (provider, path, check) => {
      const lr = await busy(provider, 'busy-key-0123456789');
      const res = await lr.fetchFor(provider)(`http://127.0.0.1:9${path}`, POST('{}'));
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      check(await res.json(), res.headers);
    });

    it('every key disabled: 503 without Retry-After (no key comes back by itself)', async () => {
      const lr = await engine([{ keyId: 'k1' }]);
      await lr.disableKey('k1');
      const res = await lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(CHAT()));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeNull();
      expect(res.headers.get('x-llm-rotate')).toBe('unavailable');
      expect(fake.requests).toHaveLength(0);
    });

    it('maxWaitMs: the request waits for the soonest key instead', async () => {
      const short = await OpenAiSdkFake.start({ rateLimitHeaders: { 'retry-after-ms': '300' } });
      try {
        const lr = await engine([{ keyId: 'k1' }]);
        short.script(secret('k1'), 'rate_limit', 'ok');
        const first = await lr.fetchFor('openai')(`${short.baseUrl}/chat/completions`, POST(CHAT()));
        expect(first.status).toBe(429);
        await first.text();
        const res = await lr.fetchFor('openai', { maxWaitMs: 10_000 })(`${short.baseUrl}/chat/completions`, POST(CHAT()));
        expect(res.status).toBe(200);
        await res.text();
        expect(short.hits(secret('k1'))).toBe(2);
      } finally {
        await short.close();
      }
    });
  });

  describe('which keys serve a request', () => {
    it("the body's model restricts the keys; a request without one uses opts.model, else any key", async () => {
      const lr = await engine([{ keyId: 'k1', models: ['gpt-4o'] }, { keyId: 'k2', models: ['gpt-4o-mini'] }]);
      const f = lr.fetchFor('openai', { model: 'gpt-4o' });
      for (const body of [CHAT('gpt-4o-mini'), CHAT('gpt-4o'), JSON.stringify({ messages: [] })]) await (await f(`${fake.baseUrl}/chat/completions`, POST(body))).text();
      expect(outcomes()).toEqual([
        ['k2', 'success'],
        ['k1', 'success'],
        ['k1', 'success'],
      ]);
      expect(events.map((e) => e.model)).toEqual(['gpt-4o-mini', 'gpt-4o', 'gpt-4o']);
      await (await lr.fetchFor('openai')(`${fake.baseUrl}/chat/completions`, POST(JSON.stringify({ messages: [] })))).text();
      expect(events.at(-1)).toMatchObject({ keyId: 'k1', model: '' });
    });

    it('a model no key serves: a 404 in the provider format (the client raises NotFoundError), or UnknownModelError with onExhausted: throw', async () => {
      const lr = await engine([{ keyId: 'k1', models: ['gpt-4o-mini'] }]);
      const client = new OpenAI({ apiKey: 'managed', baseURL: fake.baseUrl, fetch: lr.fetchFor('openai'), maxRetries: 0 });
      const err = await client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).message).toMatch(/No configured key serves model "gpt-9"/);
      const thrown = await lr.fetchFor('openai', { onExhausted: 'throw' })(`${fake.baseUrl}/chat/completions`, POST(CHAT('gpt-9'))).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(UnknownModelError);
      expect(fake.requests).toHaveLength(0);
    });

    it('the model in the URL: Gemini models/{model}, Bedrock /model/{id}, an Azure deployment mapped back through `deployments`', async () => {
      const gemini = await GeminiFake.start();
      const bedrock = await BedrockFake.start({ apiKeys: ['br-1', 'br-2'] });
      try {
        const lr = await engine(
          [
            { keyId: 'g1', provider: 'google_ai_studio', secret: 'g-key-1', models: ['gemini-1.5-pro'] },
            { keyId: 'g2', provider: 'google_ai_studio', secret: 'g-key-2', models: ['gemini-2.0-flash'] },
            { keyId: 'b1', provider: 'bedrock', secret: 'br-1', models: ['amazon.nova-pro-v1:0'], metadata: { region: 'us-east-1' } },
            { keyId: 'b2', provider: 'bedrock', secret: 'br-2', models: ['amazon.nova-lite-v1:0'], metadata: { region: 'us-east-1' } },
            { keyId: 'a1', provider: 'azure_openai', secret: 'az-1', models: ['gpt-4o'] },
            { keyId: 'a2', provider: 'azure_openai', secret: 'az-2', models: ['gpt-4o-mini'] },
          ],
          { providers: { azure_openai: { deployments: { 'gpt-4o-mini': 'mini-deployment' } } } },
        );
        const gem = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
        await (await lr.fetchFor('google_ai_studio')(`${gemini.url}/v1beta/models/gemini-2.0-flash:generateContent`, POST(gem))).text();
        const conv = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
        await (await lr.fetchFor('bedrock')(`${bedrock.url}/model/amazon.nova-lite-v1%3A0/converse`, POST(conv))).text();
        await (await lr.fetchFor('azure_openai')(`${fake.url}/openai/deployments/mini-deployment/chat/completions?api-version=2024-10-21`, POST(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })))).text();
        expect(events.map((e) => [e.keyId, e.model, e.outcome])).toEqual([
          ['g2', 'gemini-2.0-flash', 'success'],
          ['b2', 'amazon.nova-lite-v1:0', 'success'],
          ['a2', 'gpt-4o-mini', 'success'],
        ]);
      } finally {
        await Promise.all([gemini.close(), bedrock.close()]);
      }
    });
  });

  describe('the request is read once and sent again as it was', () => {
    it('a stream body and a Request object are replayed to the next key byte for byte', async () => {
      const lr = await engine([{ keyId: 'k1' }, { keyId: 'k2' }]);
      const f = lr.fetchFor('openai');
      const body = CHAT();
      fake.script(secret('k1'), 'server_error', 'ok');
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          const bytes = new TextEncoder().encode(body);
          c.enqueue(bytes.subarray(0, 10));
          c.enqueue(bytes.subarray(10));
          c.close();
        },
      });
      const res = await f(`${fake.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(200);
      await res.text();
      fake.script(secret('k1'), 'server_error', 'ok');
      const res2 = await f(new Request(`${fake.baseUrl}/chat/completions`, POST(body)));
      expect(res2.status).toBe(200);
      await res2.text();
      expect(fake.requests.map((r) => [keyOfRequest(r.headers), r.body])).toEqual([
        ['k1', body],
        ['k2', body],
        ['k1', body],
        ['k2', body],
      ]);
    });

    it("a multipart upload (audio transcription) rotates too; the form's model picks the keys", async () => {
      const lr = await engine([{ keyId: 'k1', models: ['whisper-1'] }, { keyId: 'k2', models: ['whisper-1'] }, { keyId: 'k3', models: ['gpt-4o-mini'] }]);
      fake.script(secret('k1'), 'rate_limit');
      const client = new OpenAI({ apiKey: 'managed', baseURL: fake.baseUrl, fetch: lr.fetchFor('openai'), maxRetries: 0 });
      const audio = Buffer.from([0x52, 0x49, 0x46, 0x46, 0x00, 0xff, 0x10, 0x80]);
      const r = await client.audio.transcriptions.create({ file: await toFile(audio, 'hello.wav', { type: 'audio/wav' }), model: 'whisper-1' });
      expect(r.text).toBe(TRANSCRIPT);
      expect(outcomes()).toEqual([
        ['k1', 'rate_limit'],
        ['k2', 'success'],
      ]);
      expect(events[1].model).toBe('whisper-1');
      // Only the two uploads reached the fake (the client's own `fetch('data:,')` probe is no provider's request).
      expect(fake.requests).toHaveLength(2);
      const [a, b] = fake.requests;
      expect(a.body).toBe(b.body);
      expect(a.headers['content-type']).toBe(b.headers['content-type']);
      expect(String(a.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
      expect(await keyRow(lr, 'k2')).toMatchObject({ leasesInUse: 0 });
      expect(lr.callsInFlight).toBe(0);
    });
  });

  it('rate-limit headers on a success cool the key before it draws a 429 (as chat() does)', async () => {
    const lr = await engine([{ keyId: 'k1' }, { keyId: 'k2' }]);
    fake.script(secret('k1'), { ok: true, headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '30s' } }, 'ok');
    const f = lr.fetchFor('openai');
    await (await f(`${fake.baseUrl}/chat/completions`, POST(CHAT()))).text();
    expect((await keyRow(lr, 'k1')).state).toBe('COOLDOWN');
    await (await f(`${fake.baseUrl}/chat/completions`, POST(CHAT()))).text();
    expect(outcomes()).toEqual([
      ['k1', 'success'],
      ['k2', 'success'],
    ]);
  });

  it('bad arguments are refused with the field and the problem named', async () => {
    const lr = await engine([{ keyId: 'k1' }]);
    expect(() => lr.fetchFor('nope' as ProviderName)).toThrow(new InvalidRequestError('fetchFor(provider): "nope" is not a provider (use one of openai, anthropic, google_ai_studio, google_vertex, openrouter, azure_openai, bedrock)'));
    expect(() => lr.fetchFor('openai', { maxWaitMs: -1 })).toThrow(/fetchFor opts\.maxWaitMs: must be a number of milliseconds from 0 to 2147483647/);
    expect(() => lr.fetchFor('openai', { maxWaitMs: 2 ** 31 })).toThrow(/fetchFor opts\.maxWaitMs: must be a number of milliseconds from 0 to 2147483647/);
    expect(() => lr.fetchFor('openai', { onExhausted: 'later' as 'throw' })).toThrow(/fetchFor opts\.onExhausted: must be 'response' or 'throw'/);
    expect(() => lr.fetchFor('openai', { model: '' })).toThrow(/fetchFor opts\.model: must be a non-empty string/);
    const err = await lr.fetchFor('anthropic')('http://127.0.0.1:9/v1/messages', POST('{}')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe('No configured key of provider "anthropic" is in useKeys');
    await expect(lr.fetchFor('openai')('not a url', POST('{}'))).rejects.toThrow(/fetch: "not a url" is not an absolute URL/);
    expect(lr.callsInFlight).toBe(0);
  });
});

function keyOfRequest(h: Record<string, unknown>): string {
  return String(h.authorization).replace('Bearer sk-test-', '');
}
