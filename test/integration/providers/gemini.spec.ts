import { inspect } from 'node:util';
import {
  AllKeysExhaustedError,
  LlmRotate,
  ProviderBadRequestError,
  ProviderHttpError,
  StreamInterruptedError,
  UnsupportedFeatureError,
  type ChatMessage,
  type UsageEvent,
} from '../../../lib';
import { GeminiFake, type GeminiBehavior } from '../../fakes/gemini-fake';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { keyRow, collect } from '../../support/engine';

const MODEL = 'gemini-2.0-flash';
const HI: ChatMessage[] = [{ role: 'user', content: 'hi' }];
/** One key shaped like a real AI Studio key, one that only the known-secret scrubber can recognise. */
const KEY_A = `AIzaSyD${'a'.repeat(32)}`;
const KEY_B = 'gemini-test-key-bbbbbbbbbbbbbbbbbbbb';

interface WireBody {
  contents: Array<{ role: string; parts: Array<{ text: string }> }>;
  systemInstruction?: { parts: Array<{ text: string }> };
  generationConfig?: Record<string, unknown>;
}

describe('google_ai_studio provider (Gemini API fake on 127.0.0.1)', () => {
  let fake: GeminiFake;
  let clock: FakeClock;
  const open: LlmRotate[] = [];

  beforeAll(async () => {
    fake = await GeminiFake.start();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    clock = new FakeClock();
    fake.reset();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((lr) => lr.close()));
  });

  const keys = (...ids: Array<'a' | 'b'>): TestKey[] =>
    ids.map((id) => ({ keyId: id, provider: 'google_ai_studio', models: [MODEL], secret: id === 'a' ? KEY_A : KEY_B, priority: id === 'a' ? 1 : 0 }));

  async function engine(ks: TestKey[], extra: Parameters<typeof makeOptions>[2] = {}, logger = recordingLogger().logger): Promise<LlmRotate> {
    const lr = await LlmRotate.create(makeOptions(fake.url, ks, { strategy: 'priority', ...extra }), { clock, logger });
    open.push(lr);
    return lr;
  }



  const bodyOf = (i = -1): WireBody => fake.calls.at(i)?.request.json as WireBody;
  const iso = (ms: number): string => new Date(ms).toISOString();

  describe('chat', () => {
    it('calls models/{model}:generateContent with the key in x-goog-api-key, never in the URL', async () => {
      const lr = await engine(keys('a'));
      const r = await lr.chat(MODEL, HI);
      expect(r).toMatchObject({ content: `Hello from ${MODEL}`, provider: 'google_ai_studio', keyId: 'a', model: MODEL, finishReason: 'stop', usage: { inputTokens: 11, outputTokens: 3 } });
      expect(fake.calls).toHaveLength(1);
      const req = fake.calls[0].request;
      expect(req.method).toBe('POST');
      expect(req.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
      expect(req.headers['x-goog-api-key']).toBe(KEY_A);
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers.authorization).toBeUndefined();
      expect(req.path).not.toContain('key=');
      expect(bodyOf()).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    });

    it('accepts a models/-prefixed model id and a trailing slash on the base URL', async () => {
      const lr = await LlmRotate.create(
        {
          registry: {
            keys: [{ keyId: 'a', provider: 'google_ai_studio', secretRef: `literal://${KEY_A}`, models: [`models/${MODEL}`] }],
            providers: { google_ai_studio: { baseUrl: `${fake.url}/`, headers: { 'x-goog-api-client': 'llm-rotate-test' } } },
          },
          useKeys: ['a'],
        },
        { clock, logger: recordingLogger().logger },
      );
      open.push(lr);
      const r = await lr.chat(`models/${MODEL}`, HI);
      expect(r.content).toBe(`Hello from ${MODEL}`);
      expect(fake.calls[0].request.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
      expect(fake.calls[0].request.headers['x-goog-api-client']).toBe('llm-rotate-test');
    });

    it('maps system messages to systemInstruction, assistant to model, merges same-role turns and keeps text parts', async () => {
      const lr = await engine(keys('a'));
      await lr.chat(MODEL, [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'first' },
        { role: 'user', content: [{ type: 'text', text: 'second' }, { type: 'text', text: 'third' }] },
        { role: 'assistant', content: 'noted' },
        { role: 'system', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'go' },
      ]);
      expect(bodyOf()).toEqual({
        systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] },
        contents: [
          { role: 'user', parts: [{ text: 'first' }, { text: 'second' }, { text: 'third' }] },
          { role: 'model', parts: [{ text: 'noted' }] },
          { role: 'user', parts: [{ text: 'go' }] },
        ],
      });
    });

    it('maps temperature, maxTokens, topP and stop to generationConfig', async () => {
      const lr = await engine(keys('a'));
      await lr.chat(MODEL, HI, { temperature: 0.2, maxTokens: 64, topP: 0.9, stop: ['END', 'STOP'] });
      expect(bodyOf().generationConfig).toEqual({ temperature: 0.2, maxOutputTokens: 64, topP: 0.9, stopSequences: ['END', 'STOP'] });
    });

    it('maps finish reasons MAX_TOKENS → length and SAFETY → content_filter', async () => {
      const lr = await engine(keys('a'));
      fake.script(KEY_A, 'max_tokens', 'safety');
      expect(await lr.chat(MODEL, HI)).toMatchObject({ content: 'Hello from ', finishReason: 'length', usage: { outputTokens: 2 } });
      expect(await lr.chat(MODEL, HI)).toMatchObject({ content: '', finishReason: 'content_filter', usage: { inputTokens: 11, outputTokens: 0 } });
    });

    it('leaves a thinking model\'s thought parts out of the answer and counts thought tokens as output', async () => {
      const thinking = await GeminiFake.start({ thoughts: true });
      try {
        const lr = await LlmRotate.create(makeOptions(thinking.url, keys('a')), { clock, logger: recordingLogger().logger });
        open.push(lr);
        const r = await lr.chat(MODEL, HI);
        expect(r.content).toBe(`Hello from ${MODEL}`);
        expect(r.usage).toEqual({ inputTokens: 11, outputTokens: 3 + 6 });
        const chunks = await collect(lr.stream(MODEL, HI));
        expect(chunks.map((c) => c.delta).join('')).toBe(`Hello from ${MODEL}`);
      } finally {
        await thinking.close();
      }
    });

    it('rejects a conversation of system messages only before any call, naming the provider', async () => {
      const lr = await engine(keys('a', 'b'));
      const err = await lr.chat(MODEL, [{ role: 'system', content: 'Be brief.' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedFeatureError);
      expect((err as Error).message).toContain('google_ai_studio');
      expect(fake.calls).toHaveLength(0);
      expect((await keyRow(lr, 'a')).state).toBe('ACTIVE');
      expect((await keyRow(lr, 'b')).state).toBe('ACTIVE');
    });

    it('rejects a prompt blocked by promptFeedback (no candidates) as a bad request naming the provider, without rotating', async () => {
      const lr = await engine(keys('a', 'b'));
      fake.script(KEY_A, 'blocked');
      const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderBadRequestError);
      expect((err as Error).message).toContain('google_ai_studio');
      expect((err as Error).message).toContain('blockReason SAFETY');
      expect(fake.hits(KEY_B)).toBe(0);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0 });
    });
  });

  describe('stream', () => {
    it('streams SSE chunks from :streamGenerateContent?alt=sse with finishReason and usage on the last chunk', async () => {
      const lr = await engine(keys('a'));
      const chunks = await collect(lr.stream(MODEL, [{ role: 'system', content: 'Be brief.' }, ...HI], { maxTokens: 50 }));
      expect(fake.calls[0].request.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`);
      expect(fake.calls[0].request.headers['x-goog-api-key']).toBe(KEY_A);
      expect(fake.calls[0].request.headers.accept).toBe('text/event-stream');
      expect(bodyOf()).toEqual({ systemInstruction: { parts: [{ text: 'Be brief.' }] }, contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 50 } });
      expect(chunks.map((c) => c.delta).join('')).toBe(`Hello from ${MODEL}`);
      expect(chunks.length).toBeGreaterThan(2);
      const last = chunks[chunks.length - 1];
      expect(last).toMatchObject({ finishReason: 'stop', usage: { inputTokens: 11, outputTokens: 3 }, provider: 'google_ai_studio', keyId: 'a' });
      for (const c of chunks.slice(0, -1)) expect(c.finishReason).toBeUndefined();
    });

    it('reports MAX_TOKENS as length at the end of a stream', async () => {
      const lr = await engine(keys('a'));
      fake.script(KEY_A, 'max_tokens');
      const chunks = await collect(lr.stream(MODEL, HI));
      expect(chunks.at(-1)).toMatchObject({ finishReason: 'length', usage: { inputTokens: 11, outputTokens: 2 } });
    });

    it('fails over to the next key when the first answers RESOURCE_EXHAUSTED before any chunk', async () => {
      const lr = await engine(keys('a', 'b'));
      fake.script(KEY_A, 'rate_limit');
      const chunks = await collect(lr.stream(MODEL, HI));
      expect(chunks.every((c) => c.keyId === 'b')).toBe(true);
      expect(chunks.map((c) => c.delta).join('')).toBe(`Hello from ${MODEL}`);
      expect((await keyRow(lr, 'a')).state).toBe('COOLDOWN');
    });

    it('surfaces an error event after the first chunk to the caller and counts it against the key', async () => {
      const lr = await engine(keys('a', 'b'));
      fake.script(KEY_A, 'stream_error_midway');
      const got: string[] = [];
      const err = await (async () => {
        for await (const c of lr.stream(MODEL, HI)) got.push(c.delta);
      })().catch((e: unknown) => e);
      expect(got.join('')).toBe('Hello from ');
      expect(err).toBeInstanceOf(StreamInterruptedError);
      expect(err).toMatchObject({ provider: 'google_ai_studio', keyId: 'a', kind: 'transient' });
      expect((err as Error).cause).toBeInstanceOf(ProviderHttpError);
      expect((err as Error).cause).toMatchObject({ status: 503, kind: 'transient', provider: 'google_ai_studio' });
      expect(fake.hits(KEY_B)).toBe(0);
      expect((await keyRow(lr, 'a')).consecutiveFailures).toBe(1);
    });

    it('treats an undecodable stream event before any text as a transient failure and fails over', async () => {
      const lr = await engine(keys('a', 'b'));
      fake.script(KEY_A, 'malformed_stream');
      const chunks = await collect(lr.stream(MODEL, HI));
      expect(chunks.every((c) => c.keyId === 'b')).toBe(true);
      expect(chunks.map((c) => c.delta).join('')).toBe(`Hello from ${MODEL}`);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 1 });
    });

    it('rejects a prompt blocked by promptFeedback as the caller\'s fault without rotating', async () => {
      const lr = await engine(keys('a', 'b'));
      fake.script(KEY_A, 'blocked');
      const err = await collect(lr.stream(MODEL, HI)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderBadRequestError);
      expect((err as Error).message).toMatch(/google_ai_studio .*blocked \(blockReason SAFETY\)/);
      expect(fake.hits(KEY_B)).toBe(0);
      expect((await keyRow(lr, 'a')).state).toBe('ACTIVE');
    });
  });

  describe('failover and error classification', () => {
    it('cools a RESOURCE_EXHAUSTED key until RetryInfo.retryDelay, serves from the next key, and skips the cooled key next time', async () => {
      const lr = await engine(keys('a', 'b'));
      fake.script(KEY_A, 'rate_limit', 'ok');
      const t0 = clock.now();
      const r = await lr.chat(MODEL, HI);
      expect(r.keyId).toBe('b');
      expect(r.attempts.map((a) => [a.keyId, a.outcome, a.status])).toEqual([['a', 'rate_limit', 429], ['b', 'success', undefined]]);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until: iso(t0 + 37_000) });
      await lr.chat(MODEL, HI);
      expect(fake.hits(KEY_A)).toBe(1);
      clock.advance(37_000);
      const back = await lr.chat(MODEL, HI);
      expect(back.keyId).toBe('a');
      expect((await keyRow(lr, 'a')).state).toBe('ACTIVE');
    });

    it('reads fractional retryDelays and prefers RetryInfo over retry-after', async () => {
      const lr = await engine(keys('a', 'b'));
      const t0 = clock.now();
      fake.script(KEY_A, {
        status: 429,
        headers: { 'retry-after': '5' },
        body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '20.250s' }] } },
      });
      await lr.chat(MODEL, HI);
      expect((await keyRow(lr, 'a')).until).toBe(iso(t0 + 20_250));
    });

    it('falls back to retry-after, then to the provider cooldown, when no RetryInfo is given', async () => {
      const lr = await engine(keys('a', 'b'), { providers: { google_ai_studio: { cooldownSeconds: 45 } } });
      const t0 = clock.now();
      fake.script(KEY_A, 'rate_limit_header');
      await lr.chat(MODEL, HI);
      expect((await keyRow(lr, 'a')).until).toBe(iso(t0 + 12_000));
      const lr2 = await engine(keys('a', 'b'), { providers: { google_ai_studio: { cooldownSeconds: 45 } } });
      fake.script(KEY_A, 'quota');
      await lr2.chat(MODEL, HI);
      expect((await keyRow(lr2, 'a')).until).toBe(iso(t0 + 45_000));
    });

    it('says when the soonest key is back once every key is exhausted', async () => {
      const lr = await engine(keys('a', 'b'));
      fake.script(KEY_A, 'rate_limit');
      fake.script(KEY_B, 'rate_limit_header');
      const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AllKeysExhaustedError);
      expect(err).toMatchObject({ retryAfterMs: 12_000 });
      expect((err as AllKeysExhaustedError).attempts.map((a) => a.outcome)).toEqual(['rate_limit', 'rate_limit']);
    });

    const rotating: Array<[GeminiBehavior, 'auth' | 'transient', 'QUARANTINE' | 'ACTIVE', number | undefined]> = [
      ['api_key_invalid', 'auth', 'QUARANTINE', 400],
      ['unauthenticated', 'auth', 'QUARANTINE', 401],
      ['permission_denied', 'auth', 'QUARANTINE', 403],
      ['server_error', 'transient', 'ACTIVE', 500],
      ['unavailable', 'transient', 'ACTIVE', 503],
      ['deadline', 'transient', 'ACTIVE', 504],
      ['malformed', 'transient', 'ACTIVE', undefined],
      ['reset', 'transient', 'ACTIVE', undefined],
      ['timeout', 'transient', 'ACTIVE', undefined],
    ];
    it.each(rotating)('%s: classified %s, the key goes %s and the call rotates to the next key', async (behavior, outcome, state, status) => {
      const lr = await engine(keys('a', 'b'), { providers: { google_ai_studio: { timeoutMs: 400 } } });
      fake.script(KEY_A, behavior);
      const t0 = clock.now();
      const r = await lr.chat(MODEL, HI);
      expect(r.keyId).toBe('b');
      expect(r.attempts[0]).toMatchObject({ keyId: 'a', outcome, ...(status === undefined ? {} : { status }) });
      if (status === undefined) expect(r.attempts[0].status).toBeUndefined();
      const row = await keyRow(lr, 'a');
      expect(row.state).toBe(state);
      if (state === 'QUARANTINE') expect(row.until).toBe(iso(t0 + 300_000));
      else expect(row.consecutiveFailures).toBe(1);
    });

    it.each(['bad_request', 'not_found', 'failed_precondition'] as const)('%s: the caller\'s fault is thrown at once, not rotated, and costs the key nothing', async (behavior) => {
      const lr = await engine(keys('a', 'b'));
      fake.script(KEY_A, behavior);
      const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderBadRequestError);
      expect(err).toMatchObject({ provider: 'google_ai_studio', kind: 'bad_request', status: behavior === 'not_found' ? 404 : 400 });
      expect((err as Error).message).toMatch(/^google_ai_studio answered (400|404): (INVALID_ARGUMENT|NOT_FOUND|FAILED_PRECONDITION): /);
      expect(fake.hits(KEY_B)).toBe(0);
      expect(await keyRow(lr, 'a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0 });
    });

    it('falls back across providers both ways: gemini → openai and openai → gemini', async () => {
      const { OpenAiFake } = await import('../../fakes/openai-fake');
      const openai = await OpenAiFake.start();
      try {
        openai.script('sk-test-o', 'rate_limit');
        const ks: TestKey[] = [
          { keyId: 'a', provider: 'google_ai_studio', models: [MODEL], secret: KEY_A, baseUrl: fake.url },
          { keyId: 'o', provider: 'openai', models: ['gpt-4o-mini'], secret: 'sk-test-o', baseUrl: openai.baseUrl },
        ];
        const lr = await engine(ks, { fallbacks: { [MODEL]: ['gpt-4o-mini'], 'gpt-4o-mini': [MODEL] } });
        fake.script(KEY_A, 'unavailable', 'ok');
        openai.script('sk-test-o', 'ok');
        const toOpenAi = await lr.chat(MODEL, HI);
        expect(toOpenAi).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', content: 'Hello from gpt-4o-mini' });
        expect(toOpenAi.attempts.map((a) => [a.provider, a.outcome])).toEqual([['google_ai_studio', 'transient'], ['openai', 'success']]);
        openai.script('sk-test-o', 'rate_limit');
        const toGemini = await lr.chat('gpt-4o-mini', HI);
        expect(toGemini).toMatchObject({ provider: 'google_ai_studio', model: MODEL, content: `Hello from ${MODEL}` });
        expect(toGemini.attempts.map((a) => [a.provider, a.outcome])).toEqual([['openai', 'rate_limit'], ['google_ai_studio', 'success']]);
      } finally {
        await openai.close();
      }
    });
  });

  describe('secrets', () => {
    it('never shows an API key in errors, attempts, usage events, logs, the snapshot or the options', async () => {
      const rec = recordingLogger();
      const debugLogger = { ...rec.logger, isDebugEnabled: () => true };
      const lr = await engine(keys('a', 'b'), { logUsage: true }, debugLogger);
      const events: UsageEvent[] = [];
      lr.onUsage((e) => events.push(e));
      // 403 bodies echo the key ("Consumer 'api_key:…' has been suspended"); the scrubber must catch both shapes.
      fake.script(KEY_A, 'permission_denied');
      fake.script(KEY_B, 'permission_denied');
      const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AllKeysExhaustedError);
      const cause = (err as { cause?: Error }).cause;
      expect(cause?.message).toContain("Consumer 'api_key:***' has been suspended");
      fake.script(KEY_A, 'ok');
      clock.advance(300_001);
      await collect(lr.stream(MODEL, HI));
      const dumps = [
        (err as Error).message,
        String((err as Error).stack),
        cause?.message ?? '',
        JSON.stringify(err),
        inspect(err, { depth: 5 }),
        JSON.stringify(events),
        rec.lines.join('\n'),
        JSON.stringify(await lr.snapshot()),
        JSON.stringify(lr.options),
        inspect(lr.options, { depth: 8 }),
      ];
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(rec.lines.some((l) => l.includes('usage'))).toBe(true);
      for (const d of dumps) {
        expect(d).not.toContain(KEY_A);
        expect(d).not.toContain(KEY_B);
      }
    });
  });
});
