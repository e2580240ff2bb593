import Anthropic, { AuthenticationError, InternalServerError, RateLimitError } from '@anthropic-ai/sdk';
import { LlmRotate } from '../../../lib';
import { classifyThrown } from '../../../lib/core/classify';
import { anthropicResetWaitMs } from '../../../lib/core/providers/anthropic/anthropic.limits';
import { AnthropicFake } from '../../fakes/anthropic-fake';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger } from '../../support/options';

const MODEL = 'claude-3-5-haiku-latest';
const KEY = 'sk-ant-api03-sdk-test-key';

/** The official SDK pointed at the fake: proves the fake speaks Anthropic's real wire format. */
describe('@anthropic-ai/sdk against the Anthropic fake', () => {
  let fake: AnthropicFake;
  let clock: FakeClock;
  let client: Anthropic;

  beforeAll(async () => {
    clock = new FakeClock();
    fake = await AnthropicFake.start({ now: () => clock.now() });
    client = new Anthropic({ apiKey: KEY, baseURL: fake.baseUrl, maxRetries: 0 });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.script(KEY, 'ok');
    fake.requests.length = 0;
  });

  it('messages.create: the SDK sends what the fake validates and parses its answer', async () => {
    const msg = await client.messages.create({ model: MODEL, max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.model).toBe(MODEL);
    expect(msg.content).toEqual([{ type: 'text', text: `Hello from ${MODEL}` }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.usage).toMatchObject({ input_tokens: 12, output_tokens: 3 });
    const req = fake.requests[0];
    expect(req.path).toBe('/v1/messages');
    // SDK 1.x sends the API key as a bearer token and its own API version (2026-10-21); the fake, like the
    // API, accepts that as well as the adapter's `x-api-key`.
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(fake.hits(KEY)).toBe(1);
  });

  it('messages.create({ stream: true }): the SDK decodes every event of the fake stream', async () => {
    const stream = await client.messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const types: string[] = [];
    let text = '';
    let stop: string | null | undefined;
    let outputTokens: number | undefined;
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
      if (ev.type === 'message_delta') {
        stop = ev.delta.stop_reason;
        outputTokens = ev.usage.output_tokens;
      }
    }
    expect(text).toBe(`Hello from ${MODEL}`);
    expect(stop).toBe('end_turn');
    expect(outputTokens).toBe(3);
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(types).toContain('content_block_start');
    expect(types).toContain('content_block_stop');
  });

  it('messages.stream(): the SDK accumulates the fake stream into a final message', async () => {
    const final = await client.messages.stream({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'Hello from ' }]);
    expect(final.stop_reason).toBe('max_tokens');
    expect(final.usage).toMatchObject({ input_tokens: 12, output_tokens: 2 });
  });

  it('the SDK surfaces an `event: error` in the stream as an APIError of type overloaded_error', async () => {
    fake.script(KEY, 'stream_error_midway');
    const stream = await client.messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: true });
    const err = await (async () => {
      for await (const ev of stream) void ev;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
  });

  it("the fake's validation 400s read as the SDK's BadRequestError", async () => {
    const noMax = { model: MODEL, messages: [{ role: 'user', content: 'hi' }] } as unknown as Anthropic.MessageCreateParamsNonStreaming;
    const err = await client.messages.create(noMax).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).type).toBe('invalid_request_error');
    expect(String((err as Error).message)).toContain('max_tokens: Field required');
    expect(classifyThrown(err, clock.now())).toEqual({ kind: 'bad_request' });
  });

  it('a 429 is the SDK RateLimitError with retry-after; classifyThrown makes it rate_limit with retryAfterMs', async () => {
    fake.script(KEY, 'rate_limit');
    const err = await client.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const e = err as RateLimitError;
    expect(e.status).toBe(429);
    expect(e.headers.get('retry-after')).toBe('20');
    expect(e.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(classifyThrown(e, clock.now())).toEqual({ kind: 'rate_limit', retryAfterMs: 20_000 });
  });

  it('the reset headers on an SDK RateLimitError without retry-after give the wait', async () => {
    fake.script(KEY, { rateLimit: { retryAfterS: null, windows: { 'output-tokens': { remaining: 0, resetInS: 37 }, requests: { remaining: 9, resetInS: 2 } } } });
    const err = (await client.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)) as RateLimitError;
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.headers.get('retry-after')).toBeNull();
    expect(anthropicResetWaitMs(err.headers, clock.now())).toBe(37_000);
    expect(classifyThrown(err, clock.now()).kind).toBe('rate_limit');
  });

  it('529 and 401 SDK errors classify as transient and auth', async () => {
    fake.script(KEY, 'overloaded', 'auth', 'ok');
    const overloaded = await client.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(InternalServerError);
    expect((overloaded as InternalServerError).status).toBe(529);
    expect(classifyThrown(overloaded, clock.now()).kind).toBe('transient');
    const auth = await client.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(auth).toBeInstanceOf(AuthenticationError);
    expect(classifyThrown(auth, clock.now()).kind).toBe('auth');
  });

  it('acquire() + the SDK: a RateLimitError reported on the lent key cools it for retry-after, and the next acquire rotates', async () => {
    const other = 'sk-ant-api03-sdk-other-key';
    fake.script(KEY, 'rate_limit').script(other, 'ok');
    const lr = await LlmRotate.create(
      makeOptions(fake.baseUrl, [
        { keyId: 'sdk-a', provider: 'anthropic', models: [MODEL], secret: KEY, priority: 1 },
        { keyId: 'sdk-b', provider: 'anthropic', models: [MODEL], secret: other },
      ], { strategy: 'priority' }),
      { clock, logger: recordingLogger().logger },
    );
    try {
      const call = (apiKey: string): Promise<Anthropic.Message> =>
        new Anthropic({ apiKey, baseURL: fake.baseUrl, maxRetries: 0 }).messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
      await expect(lr.withKey('anthropic', { model: MODEL }, (ctx) => call(ctx.keyValue))).rejects.toBeInstanceOf(RateLimitError);
      const row = (await lr.snapshot()).keys.find((k) => k.keyId === 'sdk-a');
      expect(row).toMatchObject({ state: 'COOLDOWN', until: new Date(clock.now() + 20_000).toISOString(), leasesInUse: 0 });
      const msg = await lr.withKey('anthropic', { model: MODEL }, async (ctx) => {
        expect(ctx.keyId).toBe('sdk-b');
        return call(ctx.keyValue);
      });
      expect(msg.content[0]).toEqual({ type: 'text', text: `Hello from ${MODEL}` });
    } finally {
      await lr.close();
    }
  });
});
