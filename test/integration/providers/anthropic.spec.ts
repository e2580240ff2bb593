import { inspect } from 'node:util';
import {
  AllKeysExhaustedError,
  LlmRotate,
  ProviderBadRequestError,
  ProviderHttpError,
  ProviderTransportError,
  StreamInterruptedError,
  UnsupportedFeatureError,
  type ChatChunk,
  type ChatMessage,
  type LlmRotateOptions,
  type UsageEvent,
} from '../../../lib';
import { AnthropicFake, type AnthropicBehavior } from '../../fakes/anthropic-fake';
import { OpenAiFake } from '../../fakes/openai-fake';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { keyRow, collect } from '../../support/engine';

const MODEL = 'claude-3-5-haiku-latest';
const HI: ChatMessage[] = [{ role: 'user', content: 'hi' }];
const SECRET_A = 'sk-ant-api03-secret-aaaaaaaaaaaaaaaa';
const SECRET_B = 'sk-ant-api03-secret-bbbbbbbbbbbbbbbb';

interface WireBody {
  model: string;
  max_tokens: number;
  system?: string;
  messages: Array<{ role: string; content: unknown }>;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  stream?: boolean;
}

describe('anthropic provider (Messages API fake on 127.0.0.1)', () => {
  let fake: AnthropicFake;
  let clock: FakeClock;
  const open: LlmRotate[] = [];

  beforeAll(async () => {
    clock = new FakeClock();
    fake = await AnthropicFake.start({ now: () => clock.now() });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.script(SECRET_A, 'ok').script(SECRET_B, 'ok');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((lr) => lr.close()));
  });

  const keys = (...ids: Array<'a' | 'b'>): TestKey[] =>
    ids.map((id) => ({ keyId: id, provider: 'anthropic', models: [MODEL], secret: id === 'a' ? SECRET_A : SECRET_B, priority: id === 'a' ? 1 : 0 }));

  async function engine(ks: TestKey[], extra: Parameters<typeof makeOptions>[2] = {}, logger = recordingLogger().logger): Promise<LlmRotate> {
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, ks, { strategy: 'priority', ...extra }), { clock, logger });
    open.push(lr);
    return lr;
  }



  const bodyOf = (i = -1): WireBody => fake.requests.at(i)?.json as WireBody;
  const iso = (ms: number): string => new Date(ms).toISOString();

  describe('chat', () => {
    it('answers through the Messages API with x-api-key, anthropic-version and a default max_tokens', async () => {
      const lr = await engine(keys('a'));
      const r = await lr.chat(MODEL, HI);
      expect(r).toMatchObject({ content: `Hello from ${MODEL}`, provider: 'anthropic', keyId: 'a', model: MODEL, finishReason: 'stop', usage: { inputTokens: 12, outputTokens: 3 } });
      expect(r.attempts).toEqual([expect.objectContaining({ keyId: 'a', outcome: 'success', provider: 'anthropic' })]);
      const req = fake.requests[0];
      expect(req.method).toBe('POST');
      expect(req.path).toBe('/v1/messages');
      expect(req.headers['x-api-key']).toBe(SECRET_A);
      expect(req.headers['anthropic-version']).toBe('2023-06-01');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers.authorization).toBeUndefined();
      expect(bodyOf()).toEqual({ model: MODEL, max_tokens: 4096, messages: [{ role: 'user', content: 'hi' }] });
    });

    it('sends system messages as the top-level system field and merges same-role turns so roles alternate', async () => {
      const lr = await engine(keys('a'));
      const r = await lr.chat(MODEL, [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'first' },
        { role: 'user', content: [{ type: 'text', text: 'second' }, { type: 'text', text: 'third' }] },
        { role: 'assistant', content: 'noted' },
        { role: 'system', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'go' },
      ]);
      expect(r.content).toBe(`Hello from ${MODEL}`);
      expect(bodyOf()).toEqual({
        model: MODEL,
        max_tokens: 4096,
        system: 'Be brief.\n\nAnswer in French.',
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'first' }, { type: 'text', text: 'second' }, { type: 'text', text: 'third' }] },
          { role: 'assistant', content: 'noted' },
          { role: 'user', content: 'go' },
        ],
      });
    });

    it('maps maxTokens, temperature, topP and stop, and the stop reasons back', async () => {
      const lr = await engine(keys('a'));
      const cut = await lr.chat(MODEL, HI, { maxTokens: 2, temperature: 0.2, topP: 0.9 });
      expect(bodyOf()).toMatchObject({ max_tokens: 2, temperature: 0.2, top_p: 0.9 });
      expect(cut).toMatchObject({ content: 'Hello from ', finishReason: 'length', usage: { outputTokens: 2 } });
      const stopped = await lr.chat(MODEL, HI, { stop: ['from'] });
      expect(bodyOf().stop_sequences).toEqual(['from']);
      expect(stopped).toMatchObject({ content: 'Hello ', finishReason: 'stop' });
      fake.script(SECRET_A, 'refusal');
      expect((await lr.chat(MODEL, HI)).finishReason).toBe('content_filter');
    });

    it('a conversation the Messages API cannot take (system text only) fails at once, naming anthropic, without a request or a verdict on the key', async () => {
      const lr = await engine(keys('a', 'b'));
      const err = await lr.chat(MODEL, [{ role: 'system', content: 'You are terse.' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedFeatureError);
      expect((err as Error).message).toMatch(/^anthropic does not support/);
      expect(fake.requests.length).toBe(0);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });
    });

    it('honours anthropicVersion, provider headers and a baseUrl override', async () => {
      const lr = await LlmRotate.create(
        {
          registry: {
            keys: [{ keyId: 'a', provider: 'anthropic', secretRef: `literal://${SECRET_A}`, models: [MODEL] }],
            providers: { anthropic: { baseUrl: `${fake.baseUrl}/`, anthropicVersion: '2099-01-01', headers: { 'anthropic-beta': 'fake-beta-2026' } } },
          },
          useKeys: ['a'],
        },
        { clock, logger: recordingLogger().logger },
      );
      open.push(lr);
      await lr.chat(MODEL, HI);
      const req = fake.requests[0];
      expect(req.path).toBe('/v1/messages');
      expect(req.headers['anthropic-version']).toBe('2099-01-01');
      expect(req.headers['anthropic-beta']).toBe('fake-beta-2026');
    });
  });

  it('passes sampling options through as they are: under anthropic-version 2026-10-21 the API refuses them as the caller\'s fault', async () => {
    const lr = await engine(keys('a', 'b'), { providers: { anthropic: { anthropicVersion: '2026-10-21' } } });
    expect((await lr.chat(MODEL, HI)).keyId).toBe('a');
    expect(fake.requests[0].headers['anthropic-version']).toBe('2026-10-21');
    await expect(lr.chat(MODEL, HI, { temperature: 0.3 })).rejects.toMatchObject({ status: 400, kind: 'bad_request', message: expect.stringContaining('temperature') });
    expect(fake.hits(SECRET_B)).toBe(0);
  });

  describe('stream', () => {
    it('streams text deltas; the last chunk carries finishReason and usage', async () => {
      const lr = await engine(keys('a'));
      const chunks = await collect(lr.stream(MODEL, [{ role: 'system', content: 'Be brief.' }, ...HI]));
      expect(chunks.map((c) => c.delta).join('')).toBe(`Hello from ${MODEL}`);
      expect(chunks.filter((c) => c.delta !== '').length).toBe(3);
      const last = chunks[chunks.length - 1];
      expect(last).toMatchObject({ finishReason: 'stop', usage: { inputTokens: 12, outputTokens: 3 }, provider: 'anthropic', keyId: 'a' });
      expect(chunks.slice(0, -1).every((c) => c.usage === undefined && c.finishReason === undefined)).toBe(true);
      expect(bodyOf()).toMatchObject({ stream: true, system: 'Be brief.', max_tokens: 4096 });
      expect(fake.requests[0].headers.accept).toBe('text/event-stream');
    });

    it('reports max_tokens as finishReason "length" on the last chunk', async () => {
      const lr = await engine(keys('a'));
      const chunks = await collect(lr.stream(MODEL, HI, { maxTokens: 1 }));
      expect(chunks.map((c) => c.delta).join('')).toBe('Hello ');
      expect(chunks.at(-1)).toMatchObject({ finishReason: 'length', usage: { inputTokens: 12, outputTokens: 1 } });
    });

    it('fails over when an `event: error` (overloaded_error) arrives before any text', async () => {
      fake.script(SECRET_A, 'stream_error_first');
      const lr = await engine(keys('a', 'b'));
      const chunks = await collect(lr.stream(MODEL, HI));
      expect(chunks.map((c) => c.delta).join('')).toBe(`Hello from ${MODEL}`);
      expect(chunks.every((c) => c.keyId === 'b')).toBe(true);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 1 });
    });

    it('surfaces an overloaded_error event after the first chunk as a transient 529, counted against the key', async () => {
      fake.script(SECRET_A, 'stream_error_midway');
      const lr = await engine(keys('a', 'b'));
      const got: string[] = [];
      let caught: unknown;
      try {
        for await (const c of lr.stream(MODEL, HI)) got.push(c.delta);
      } catch (e) {
        caught = e;
      }
      expect(got.join('')).toBe('Hello from ');
      expect(caught).toBeInstanceOf(StreamInterruptedError);
      expect(caught).toMatchObject({ provider: 'anthropic', keyId: 'a', kind: 'transient' });
      expect((caught as Error).cause).toBeInstanceOf(ProviderHttpError);
      expect((caught as Error).cause).toMatchObject({ provider: 'anthropic', status: 529, kind: 'transient' });
      expect(fake.hits(SECRET_B)).toBe(0);
      expect(await keyRow(lr, 'a')).toMatchObject({ consecutiveFailures: 1, leasesInUse: 0 });
    });

    it('treats a stream that ends before message_stop as a transport error, not a complete answer', async () => {
      fake.script(SECRET_A, 'stream_truncated');
      const lr = await engine(keys('a'));
      const got: string[] = [];
      const err = await (async () => {
        for await (const c of lr.stream(MODEL, HI)) got.push(c.delta);
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StreamInterruptedError);
      expect((err as Error).cause).toBeInstanceOf(ProviderTransportError);
      expect(got.join('')).toBe('Hello ');
      expect(await keyRow(lr, 'a')).toMatchObject({ consecutiveFailures: 1 });
    });

    it('cools a key whose stream answer says a window is spent', async () => {
      fake.script(SECRET_A, { okWithLimits: { requests: { remaining: 0, resetInS: 25 } } });
      const lr = await engine(keys('a', 'b'));
      const chunks = await collect(lr.stream(MODEL, HI));
      expect(chunks.at(-1)?.keyId).toBe('a');
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until: iso(clock.now() + 25_000) });
    });
  });

  describe('failover and classification', () => {
    const cases: Array<[string, AnthropicBehavior, string, string, number | undefined]> = [
      ['429 rate_limit_error', 'rate_limit', 'rate_limit', 'COOLDOWN', 429],
      ['529 overloaded_error', 'overloaded', 'transient', 'ACTIVE', 529],
      ['500 api_error', 'server_error', 'transient', 'ACTIVE', 500],
      ['401 authentication_error', 'auth', 'auth', 'QUARANTINE', 401],
      ['403 permission_error', 'permission', 'auth', 'QUARANTINE', 403],
      ['400 "credit balance is too low"', 'billing', 'auth', 'QUARANTINE', 400],
      ['a malformed JSON body', 'malformed', 'transient', 'ACTIVE', undefined],
      ['a connection reset', 'reset', 'transient', 'ACTIVE', undefined],
    ];
    it.each(cases)('rotates past %s to the next key', async (_name, behavior, outcome, state, status) => {
      fake.script(SECRET_A, behavior);
      const lr = await engine(keys('a', 'b'));
      const r = await lr.chat(MODEL, HI);
      expect(r.keyId).toBe('b');
      expect(r.attempts.map((a) => [a.keyId, a.outcome])).toEqual([['a', outcome], ['b', 'success']]);
      expect(r.attempts[0].status).toBe(status);
      expect(await keyRow(lr, 'a')).toMatchObject({ state, leasesInUse: 0 });
    });

    it('rotates past a key that does not answer within timeoutMs', async () => {
      fake.script(SECRET_A, 'timeout');
      const lr = await engine(keys('a', 'b'), { providers: { anthropic: { timeoutMs: 300 } } });
      const r = await lr.chat(MODEL, HI);
      expect(r.attempts.map((a) => [a.keyId, a.outcome, a.errorClass])).toEqual([['a', 'transient', 'ProviderTimeoutError'], ['b', 'success', undefined]]);
    });

    const callerFaults: Array<[string, AnthropicBehavior, number]> = [
      ['400 invalid_request_error', 'bad_request', 400],
      ['404 not_found_error', 'not_found', 404],
      ['413 request_too_large', 'too_large', 413],
    ];
    it.each(callerFaults)('does not rotate on %s: the caller gets it at once and the key is untouched', async (_n, behavior, status) => {
      fake.script(SECRET_A, behavior);
      const lr = await engine(keys('a', 'b'));
      const err = await lr.chat(MODEL, HI).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProviderBadRequestError);
      expect(err).toMatchObject({ provider: 'anthropic', status, kind: 'bad_request' });
      expect(fake.hits(SECRET_B)).toBe(0);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });
    });

    it("surfaces the API's own validation 400 (temperature above Anthropic's range) without rotating", async () => {
      const lr = await engine(keys('a', 'b'));
      await expect(lr.chat(MODEL, HI, { temperature: 1.5 })).rejects.toMatchObject({ status: 400, kind: 'bad_request', message: expect.stringContaining('temperature') });
      expect(fake.hits(SECRET_B)).toBe(0);
    });

    it('fails over across every key and says so when all are rate limited or overloaded', async () => {
      fake.script(SECRET_A, 'rate_limit').script(SECRET_B, 'overloaded');
      const lr = await engine(keys('a', 'b'));
      const err = (await lr.chat(MODEL, HI).catch((e: unknown) => e)) as AllKeysExhaustedError;
      expect(err).toBeInstanceOf(AllKeysExhaustedError);
      expect(err.attempts.map((a) => [a.keyId, a.outcome, a.status])).toEqual([['a', 'rate_limit', 429], ['b', 'transient', 529]]);
      expect(err.retryAfterMs).toBe(20_000);
    });
  });

  describe('rate-limit signals', () => {
    it('retry-after sets the cooldown deadline', async () => {
      fake.script(SECRET_A, { rateLimit: { retryAfterS: 42, windows: { requests: { remaining: 0, resetInS: 10 } } } });
      const lr = await engine(keys('a', 'b'));
      await lr.chat(MODEL, HI);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until: iso(clock.now() + 42_000) });
    });

    it('without retry-after, the reset of the spent window sets it', async () => {
      fake.script(SECRET_A, {
        rateLimit: { retryAfterS: null, windows: { requests: { remaining: 7, resetInS: 5 }, 'input-tokens': { remaining: 0, resetInS: 45 }, 'output-tokens': { remaining: 900, resetInS: 50 } } },
      });
      const lr = await engine(keys('a', 'b'));
      await lr.chat(MODEL, HI);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until: iso(clock.now() + 45_000) });
    });

    it('without retry-after or a spent window, the latest reset sets it', async () => {
      fake.script(SECRET_A, { rateLimit: { retryAfterS: null, windows: { requests: { remaining: 7, resetInS: 5 }, tokens: { remaining: 3000, resetInS: 12 } } } });
      const lr = await engine(keys('a', 'b'));
      await lr.chat(MODEL, HI);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until: iso(clock.now() + 12_000) });
    });

    it('with no signal at all, the provider cooldown applies (anthropic default 30 s)', async () => {
      fake.script(SECRET_A, { rateLimit: { retryAfterS: null } });
      const lr = await engine(keys('a', 'b'));
      await lr.chat(MODEL, HI);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until: iso(clock.now() + 30_000) });
    });

    it('a success with `…-remaining: 0` cools the key until that reset, before it can draw a 429', async () => {
      fake.script(SECRET_A, { okWithLimits: { requests: { remaining: 3, resetInS: 2 }, tokens: { remaining: 0, resetInS: 33 } } }, 'ok');
      const lr = await engine(keys('a', 'b'));
      const first = await lr.chat(MODEL, HI);
      expect(first.keyId).toBe('a');
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until: iso(clock.now() + 33_000) });
      expect((await lr.chat(MODEL, HI)).keyId).toBe('b');
      expect(fake.hits(SECRET_A)).toBe(1);
      clock.advance(33_000);
      expect((await lr.chat(MODEL, HI)).keyId).toBe('a');
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'ACTIVE' });
    });

    it('a shorter rate-limit signal on a cooling key never shortens its cooldown', async () => {
      fake.script(SECRET_A, { rateLimit: { retryAfterS: 60 } });
      const lr = await engine(keys('a', 'b'));
      // A lent key (a direct SDK call in flight on key a) ...
      const ctx = await lr.acquire('anthropic', { model: MODEL });
      expect(ctx.keyId).toBe('a');
      // ... while chat() draws a 429 with retry-after 60 on the same key and fails over,
      const r = await lr.chat(MODEL, HI);
      expect(r.attempts.map((a) => a.outcome)).toEqual(['rate_limit', 'success']);
      const until = iso(clock.now() + 60_000);
      // ... then the lent call reports a 5 s limit: the later deadline stands.
      await ctx.reportError({ kind: 'rate_limit', retryAfterMs: 5_000 });
      await ctx.release();
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until, leasesInUse: 0 });
    });
  });

  describe('secrets', () => {
    it('never shows a key in errors, attempts, usage events, logs or the snapshot (the fake echoes it in its 401)', async () => {
      fake.script(SECRET_A, 'auth').script(SECRET_B, 'auth');
      const rec = recordingLogger();
      const lr = await engine(keys('a', 'b'), {}, rec.logger);
      const events: UsageEvent[] = [];
      lr.onUsage((e) => events.push(e));
      const err = (await lr.chat(MODEL, HI).catch((e: unknown) => e)) as AllKeysExhaustedError;
      expect(err).toBeInstanceOf(AllKeysExhaustedError);
      const cause = (err as { cause?: Error }).cause;
      expect(cause).toBeInstanceOf(ProviderHttpError);
      expect(cause?.message).toContain('invalid x-api-key');
      const stream = await collect(lr.stream(MODEL, HI)).catch((e: unknown) => e);
      const dumps = [
        err.message,
        String(err.stack),
        inspect(err, { depth: 5 }),
        JSON.stringify(err),
        cause?.message ?? '',
        inspect(stream, { depth: 5 }),
        JSON.stringify(events),
        rec.lines.join('\n'),
        JSON.stringify(await lr.snapshot()),
      ].join('\n');
      expect(events.length).toBeGreaterThanOrEqual(2);
      for (const s of [SECRET_A, SECRET_B]) {
        expect(fake.requestsOf(s).length).toBeGreaterThanOrEqual(1);
        expect(dumps).not.toContain(s);
      }
    });
  });
});

describe('cross-provider fallback openai → anthropic', () => {
  let openai: OpenAiFake;
  let anthropic: AnthropicFake;
  beforeAll(async () => {
    [openai, anthropic] = await Promise.all([OpenAiFake.start(), AnthropicFake.start()]);
  });
  afterAll(() => Promise.all([openai.close(), anthropic.close()]));

  function options(): LlmRotateOptions {
    const o = makeOptions(
      openai.baseUrl,
      [
        { keyId: 'oa-1', secret: 'sk-openai-one' },
        { keyId: 'oa-2', secret: 'sk-openai-two' },
        { keyId: 'claude-1', provider: 'anthropic', models: [MODEL], baseUrl: anthropic.baseUrl, secret: SECRET_A },
      ],
      { fallbacks: { 'gpt-4o-mini': [MODEL] } },
    );
    return o;
  }

  it('answers from anthropic with the fallback model when every openai key is rate limited', async () => {
    openai.script('sk-openai-one', 'rate_limit').script('sk-openai-two', 'rate_limit');
    const lr = await LlmRotate.create(options(), { logger: recordingLogger().logger });
    try {
      const r = await lr.chat('gpt-4o-mini', [{ role: 'system', content: 'Be brief.' }, ...HI]);
      expect(r).toMatchObject({ provider: 'anthropic', model: MODEL, keyId: 'claude-1', content: `Hello from ${MODEL}` });
      expect(r.attempts.map((a) => [a.provider, a.model, a.keyId, a.outcome])).toEqual([
        ['openai', 'gpt-4o-mini', expect.stringMatching(/^oa-/), 'rate_limit'],
        ['openai', 'gpt-4o-mini', expect.stringMatching(/^oa-/), 'rate_limit'],
        ['anthropic', MODEL, 'claude-1', 'success'],
      ]);
      const sent = anthropic.requests.at(-1)?.json as WireBody;
      expect(sent).toMatchObject({ model: MODEL, system: 'Be brief.', messages: [{ role: 'user', content: 'hi' }] });

      // The same path for a stream (the openai keys are cooling now: straight to anthropic).
      const chunks: ChatChunk[] = [];
      for await (const c of lr.stream('gpt-4o-mini', HI)) chunks.push(c);
      expect(chunks.map((c) => c.delta).join('')).toBe(`Hello from ${MODEL}`);
      expect(chunks.at(-1)).toMatchObject({ provider: 'anthropic', model: MODEL, finishReason: 'stop' });
    } finally {
      await lr.close();
    }
  });
});
