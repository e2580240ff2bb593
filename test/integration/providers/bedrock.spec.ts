import { inspect } from 'node:util';
import {
  AllKeysExhaustedError,
  LlmRotate,
  ProviderBadRequestError,
  ProviderHttpError,
  ProviderTransportError,
  StreamInterruptedError,
  UnsupportedFeatureError,
  type ChatMessage,
  type UsageEvent,
} from '../../../lib';
import { BedrockFake, type BedrockBehavior } from '../../fakes/bedrock-fake';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { keyRow, collect } from '../../support/engine';

const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const HI: ChatMessage[] = [{ role: 'user', content: 'hi' }];

/** Two AWS identities (one with temporary credentials) and two Bedrock API keys the fake knows. */
const AWS_A = { accessKeyId: 'AKIDTESTAAAAAAAAAAA1', secretAccessKey: 'aws-secret-A/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' };
const AWS_B = { accessKeyId: 'ASIATESTBBBBBBBBBBB2', secretAccessKey: 'aws-secret-B/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', sessionToken: 'session-token-B-bbbbbbbbbbbbbbbb' };
const API_1 = 'ABSKbedrock-api-key-one-1111111111';
const API_2 = 'ABSKbedrock-api-key-two-2222222222';
const SECRETS = [AWS_A.secretAccessKey, AWS_B.secretAccessKey, AWS_B.sessionToken, API_1, API_2];

type KeyName = 'aws-a' | 'aws-b' | 'api-1' | 'api-2';
const SECRET_OF: Record<KeyName, string> = { 'aws-a': JSON.stringify(AWS_A), 'aws-b': JSON.stringify(AWS_B), 'api-1': API_1, 'api-2': API_2 };
const IDENTITY_OF: Record<KeyName, string> = { 'aws-a': AWS_A.accessKeyId, 'aws-b': AWS_B.accessKeyId, 'api-1': API_1, 'api-2': API_2 };

describe('bedrock provider (Converse / ConverseStream fake on 127.0.0.1)', () => {
  let fake: BedrockFake;
  let clock: FakeClock;
  const open: LlmRotate[] = [];

  beforeAll(async () => {
    fake = await BedrockFake.start({ credentials: [AWS_A, AWS_B], apiKeys: [API_1, API_2], reply: 'Hello from Bedrock' });
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    clock = new FakeClock();
    fake.calls.length = 0;
    fake.requests.length = 0;
    fake.options.chunking = undefined;
    fake.options.throttleHeaders = undefined;
    for (const id of Object.values(IDENTITY_OF)) fake.script(id, 'ok');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((lr) => lr.close()));
  });

  /** Keys in priority order (first = highest), all serving MODEL; region from the provider settings. */
  const keys = (...names: KeyName[]): TestKey[] =>
    names.map((n, i) => ({ keyId: n, provider: 'bedrock', models: [MODEL], secret: SECRET_OF[n], priority: names.length - i }));

  async function engine(ks: TestKey[], extra: Parameters<typeof makeOptions>[2] = {}, logger = recordingLogger().logger): Promise<LlmRotate> {
    const lr = await LlmRotate.create(
      makeOptions(fake.url, ks, { strategy: 'priority', providers: { bedrock: { region: 'eu-central-1', timeoutMs: 5000 } }, ...extra }),
      { clock, logger },
    );
    open.push(lr);
    return lr;
  }



  describe('chat', () => {
    it('SigV4 credentials: the fake verifies the signature over the encoded model path; the answer maps back', async () => {
      const lr = await engine(keys('aws-a'));
      const r = await lr.chat(MODEL, HI);
      expect(r).toMatchObject({ content: 'Hello from Bedrock', provider: 'bedrock', keyId: 'aws-a', model: MODEL, finishReason: 'stop', usage: { inputTokens: 11, outputTokens: 3 } });
      expect(fake.calls).toEqual([
        expect.objectContaining({ auth: 'sigv4', identity: AWS_A.accessKeyId, region: 'eu-central-1', modelId: MODEL, operation: 'converse', rawPath: '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse' }),
      ]);
      expect(fake.requests[0].headers['x-amz-security-token']).toBeUndefined();
    });

    it('temporary credentials send their session token; a key metadata region wins over the provider region', async () => {
      const lr = await engine([{ ...keys('aws-b')[0], metadata: { region: 'us-west-2' } }]);
      expect((await lr.chat(MODEL, HI)).content).toBe('Hello from Bedrock');
      expect(fake.calls[0]).toMatchObject({ auth: 'sigv4', identity: AWS_B.accessKeyId, region: 'us-west-2' });
      expect(fake.requests[0].headers['x-amz-security-token']).toBe(AWS_B.sessionToken);
    });

    it('a Bedrock API key is sent as a bearer token', async () => {
      const lr = await engine(keys('api-1'));
      expect((await lr.chat(MODEL, HI)).content).toBe('Hello from Bedrock');
      expect(fake.calls[0]).toMatchObject({ auth: 'bearer', identity: API_1 });
      expect(fake.requests[0].headers.authorization).toBe(`Bearer ${API_1}`);
    });

    it('a wrong secret fails the real signature check (InvalidSignatureException): auth, quarantined, rotated', async () => {
      const forged = { keyId: 'forged', provider: 'bedrock' as const, models: [MODEL], priority: 9, secret: JSON.stringify({ accessKeyId: AWS_A.accessKeyId, secretAccessKey: 'not-the-real-secret' }) };
      const lr = await engine([forged, ...keys('api-1')]);
      const r = await lr.chat(MODEL, HI);
      expect(r.keyId).toBe('api-1');
      expect(r.attempts.map((a) => [a.keyId, a.outcome, a.status])).toEqual([
        ['forged', 'auth', 403],
        ['api-1', 'success', undefined],
      ]);
      expect((await keyRow(lr, 'forged')).state).toBe('QUARANTINE');
    });

    it('maps system messages, multi-part content, merged turns and inference settings (as the fake received them)', async () => {
      const lr = await engine(keys('api-1'));
      await lr.chat(
        MODEL,
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'first' }, { type: 'text', text: 'second' }] },
          { role: 'user', content: 'third' },
          { role: 'assistant', content: 'noted' },
          { role: 'system', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'go' },
        ],
        { maxTokens: 50, temperature: 0.3, topP: 0.8, stop: ['END'] },
      );
      expect(fake.calls[0].body).toEqual({
        system: [{ text: 'Be brief.' }, { text: 'Answer in French.' }],
        messages: [
          { role: 'user', content: [{ text: 'first' }, { text: 'second' }, { text: 'third' }] },
          { role: 'assistant', content: [{ text: 'noted' }] },
          { role: 'user', content: [{ text: 'go' }] },
        ],
        inferenceConfig: { maxTokens: 50, temperature: 0.3, topP: 0.8, stopSequences: ['END'] },
      });
    });

    it('finish reasons come back from stopReason', async () => {
      const lr = await engine(keys('api-1'));
      for (const [stopReason, finish] of [['max_tokens', 'length'], ['guardrail_intervened', 'content_filter'], ['tool_use', 'tool_calls']] as const) {
        fake.options.stopReason = stopReason;
        expect((await lr.chat(MODEL, HI)).finishReason).toBe(finish);
      }
      fake.options.stopReason = undefined;
    });

    it('an assistant-first conversation fails at once with an error naming bedrock: no request, no verdict on the key', async () => {
      const lr = await engine(keys('api-1', 'api-2'));
      const err = await lr.chat(MODEL, [{ role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'hi' }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedFeatureError);
      expect((err as Error).message).toMatch(/^bedrock does not support .*first message to be from the user/);
      expect(fake.requests.length).toBe(0);
      expect(await keyRow(lr, 'api-1')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });
    });
  });

  describe('failover and error classification', () => {
    it('fails over between two keys on ThrottlingException and cools the throttled key, honouring retry-after', async () => {
      fake.options.throttleHeaders = { 'retry-after': '20' };
      fake.script(AWS_A.accessKeyId, 'throttling', 'ok');
      const lr = await engine(keys('aws-a', 'aws-b'));
      const r = await lr.chat(MODEL, HI);
      expect(r.keyId).toBe('aws-b');
      expect(r.attempts.map((a) => [a.keyId, a.outcome, a.status, a.errorClass])).toEqual([
        ['aws-a', 'rate_limit', 429, 'ProviderHttpError'],
        ['aws-b', 'success', undefined, undefined],
      ]);
      const row = await keyRow(lr, 'aws-a');
      expect(row.state).toBe('COOLDOWN');
      expect(row.until).toBe(new Date(clock.now() + 20_000).toISOString());
      // Until the cooldown ends every call goes to aws-b; afterwards aws-a is back on probation and answers.
      expect((await lr.chat(MODEL, HI)).keyId).toBe('aws-b');
      clock.advance(20_000);
      expect((await lr.chat(MODEL, HI)).keyId).toBe('aws-a');
      expect((await keyRow(lr, 'aws-a')).state).toBe('ACTIVE');
    });

    const rotating: Array<[BedrockBehavior, string, number | undefined, string]> = [
      ['throttling', 'rate_limit', 429, 'COOLDOWN'],
      ['quota', 'rate_limit', 400, 'COOLDOWN'],
      ['access_denied', 'auth', 403, 'QUARANTINE'],
      ['expired_token', 'auth', 403, 'QUARANTINE'],
      ['model_not_ready', 'transient', 429, 'ACTIVE'],
      ['model_error', 'transient', 424, 'ACTIVE'],
      ['model_timeout', 'transient', 408, 'ACTIVE'],
      ['server_error', 'transient', 500, 'ACTIVE'],
      ['unavailable', 'transient', 503, 'ACTIVE'],
      ['malformed', 'transient', undefined, 'ACTIVE'],
      ['reset', 'transient', undefined, 'ACTIVE'],
    ];
    it.each(rotating)('%s → %s (status %s): rotated to the next key, the key goes %s', async (behavior, outcome, status, state) => {
      fake.script(API_1, behavior, 'ok');
      const lr = await engine(keys('api-1', 'api-2'));
      const r = await lr.chat(MODEL, HI);
      expect(r.keyId).toBe('api-2');
      expect(r.attempts.map((a) => [a.keyId, a.outcome, a.status])).toEqual([
        ['api-1', outcome, status],
        ['api-2', 'success', undefined],
      ]);
      const row = await keyRow(lr, 'api-1');
      expect(row.state).toBe(state);
      expect(row.consecutiveFailures).toBe(outcome === 'rate_limit' ? 0 : 1);
    });

    it('a key that never answers hits the provider timeout: transient, rotated', async () => {
      fake.script(API_1, 'timeout');
      const lr = await engine(keys('api-1', 'api-2'), { providers: { bedrock: { region: 'eu-central-1', timeoutMs: 300 } } });
      const r = await lr.chat(MODEL, HI);
      expect(r.keyId).toBe('api-2');
      expect(r.attempts[0]).toMatchObject({ keyId: 'api-1', outcome: 'transient', errorClass: 'ProviderTimeoutError' });
    });

    it.each([
      ['validation', 400, 'ValidationException'],
      ['not_found', 404, 'ResourceNotFoundException'],
    ] as const)('%s (%i) is the caller fault: not rotated, no verdict on the key', async (behavior, status, type) => {
      fake.script(API_1, behavior);
      const lr = await engine(keys('api-1', 'api-2'));
      const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderBadRequestError);
      expect(err).toMatchObject({ provider: 'bedrock', status, kind: 'bad_request' });
      expect((err as Error).message).toContain(`bedrock answered ${status}: ${type}:`);
      expect(fake.hits(API_2)).toBe(0);
      expect(await keyRow(lr, 'api-1')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });
    });

    it('when every key is throttled the call fails with AllKeysExhaustedError listing each attempt', async () => {
      fake.script(API_1, 'throttling').script(API_2, 'unavailable');
      const lr = await engine(keys('api-1', 'api-2'));
      const err = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AllKeysExhaustedError);
      expect((err as AllKeysExhaustedError).attempts.map((a) => [a.keyId, a.outcome, a.status])).toEqual([
        ['api-1', 'rate_limit', 429],
        ['api-2', 'transient', 503],
      ]);
    });
  });

  describe('stream', () => {
    it.each(['frame', 'split', 'coalesced'] as const)('streams deltas with SigV4 and with an API key (frames written %s)', async (chunking) => {
      fake.options.chunking = chunking;
      for (const k of ['aws-b', 'api-1'] as const) {
        const lr = await engine(keys(k));
        const chunks = await collect(lr.stream(MODEL, HI));
        expect(chunks.map((c) => c.delta)).toEqual(['Hello ', 'from ', 'Bedrock', '']);
        expect(chunks.at(-1)).toMatchObject({ provider: 'bedrock', keyId: k, model: MODEL, finishReason: 'stop', usage: { inputTokens: 11, outputTokens: 3 } });
        expect(chunks.slice(0, -1).every((c) => c.finishReason === undefined && c.usage === undefined)).toBe(true);
        expect(fake.calls.at(-1)).toMatchObject({ operation: 'converse-stream', identity: IDENTITY_OF[k], auth: k === 'api-1' ? 'bearer' : 'sigv4' });
      }
    });

    it('fails over before the first chunk: HTTP 429 ThrottlingException, then an exception frame at the start', async () => {
      fake.script(API_1, 'throttling', 'ok');
      const lr = await engine(keys('api-1', 'api-2'));
      const a = await collect(lr.stream(MODEL, HI));
      expect(a.map((c) => c.delta).join('')).toBe('Hello from Bedrock');
      expect(a.at(-1)?.keyId).toBe('api-2');
      expect((await keyRow(lr, 'api-1')).state).toBe('COOLDOWN');

      fake.script(API_2, 'stream_throttled_at_start', 'ok');
      const lr2 = await engine(keys('api-2', 'aws-a'));
      const b = await collect(lr2.stream(MODEL, HI));
      expect(b.at(-1)?.keyId).toBe('aws-a');
      expect((await keyRow(lr2, 'api-2')).state).toBe('COOLDOWN');
    });

    it('a validationException frame at the start is the caller fault: thrown at once, not rotated', async () => {
      fake.script(API_1, 'stream_validation_at_start');
      const lr = await engine(keys('api-1', 'api-2'));
      const err = await collect(lr.stream(MODEL, HI)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderBadRequestError);
      expect((err as Error).message).toMatch(/ValidationException/);
      expect(fake.hits(API_2)).toBe(0);
      expect((await keyRow(lr, 'api-1')).state).toBe('ACTIVE');
    });

    it('a throttlingException frame after the first chunk is reported against the key and thrown to the caller', async () => {
      fake.script(API_1, 'stream_exception_midway');
      const lr = await engine(keys('api-1', 'api-2'));
      const got: string[] = [];
      const err = await (async () => {
        for await (const c of lr.stream(MODEL, HI)) got.push(c.delta);
      })().catch((e: unknown) => e);
      expect(got).toEqual(['Hello ']);
      expect(err).toBeInstanceOf(StreamInterruptedError);
      expect(err).toMatchObject({ provider: 'bedrock', keyId: 'api-1', kind: 'rate_limit' });
      expect((err as Error).cause).toBeInstanceOf(ProviderHttpError);
      expect((err as Error).cause).toMatchObject({ kind: 'rate_limit', status: 429 });
      expect(fake.hits(API_2)).toBe(0);
      expect((await keyRow(lr, 'api-1')).state).toBe('COOLDOWN');
    });

    it('a frame with a bad checksum before any text is malformed: transient, rotated', async () => {
      fake.script(API_1, 'stream_bad_crc');
      const lr = await engine(keys('api-1', 'api-2'));
      const chunks = await collect(lr.stream(MODEL, HI));
      expect(chunks.at(-1)?.keyId).toBe('api-2');
      expect((await keyRow(lr, 'api-1')).consecutiveFailures).toBe(1);
    });

    it('a stream cut inside a frame after text is thrown to the caller as a malformed answer', async () => {
      fake.script(API_1, 'stream_truncated');
      const lr = await engine(keys('api-1', 'api-2'));
      const got: string[] = [];
      const err = await (async () => {
        for await (const c of lr.stream(MODEL, HI)) got.push(c.delta);
      })().catch((e: unknown) => e);
      expect(got).toEqual(['Hello ']);
      expect(err).toBeInstanceOf(StreamInterruptedError);
      expect(err).toMatchObject({ provider: 'bedrock', keyId: 'api-1', kind: 'transient' });
      expect((err as Error).cause).toBeInstanceOf(ProviderTransportError);
      expect(((err as Error).cause as ProviderTransportError).code).toBe('EMALFORMED');
      expect((await keyRow(lr, 'api-1')).consecutiveFailures).toBe(1);
    });

    it('a stream that stalls hits the provider timeout and rotates before the first chunk', async () => {
      fake.script(API_1, 'timeout');
      const lr = await engine(keys('api-1', 'api-2'), { providers: { bedrock: { region: 'eu-central-1', timeoutMs: 300 } } });
      const chunks = await collect(lr.stream(MODEL, HI));
      expect(chunks.at(-1)?.keyId).toBe('api-2');
    });

    it('breaking out of the loop cancels the upstream request and releases the key without a verdict', async () => {
      fake.options.gapMs = 20;
      try {
        const lr = await engine(keys('api-1'));
        for await (const c of lr.stream(MODEL, HI)) {
          expect(c.delta).toBe('Hello ');
          break;
        }
        expect(await keyRow(lr, 'api-1')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });
      } finally {
        fake.options.gapMs = undefined;
      }
    });
  });

  describe('secrets', () => {
    it('never appear in errors, usage events, snapshots or logs, even when the upstream echoes them', async () => {
      const { lines, logger } = recordingLogger();
      const echo = (s: string): BedrockBehavior => ({ status: 403, errorType: 'AccessDeniedException', message: `key ${s} is not allowed` });
      fake.script(API_1, echo(API_1)).script(AWS_B.accessKeyId, echo(`${AWS_B.secretAccessKey} / ${AWS_B.sessionToken}`)).script(API_2, { status: 400, errorType: 'ValidationException', message: `bad input for ${API_2}` });
      const debugLogger = { ...logger, isDebugEnabled: () => true };
      const lr = await engine(keys('api-1', 'aws-b', 'aws-a'), { logUsage: true }, debugLogger);
      const events: UsageEvent[] = [];
      lr.onUsage((e) => events.push(e));
      fake.script(AWS_A.accessKeyId, 'throttling');
      const texts: string[] = [];
      const exhausted = await lr.chat(MODEL, HI).catch((e: unknown) => e);
      expect(exhausted).toBeInstanceOf(AllKeysExhaustedError);
      expect((exhausted as AllKeysExhaustedError).attempts.map((a) => a.outcome)).toEqual(['auth', 'auth', 'rate_limit']);
      texts.push(String(exhausted), JSON.stringify(exhausted), inspect(exhausted, { depth: 5 }), String((exhausted as { cause?: unknown }).cause));
      const lr2 = await engine(keys('api-2', 'api-1'), { logUsage: true }, debugLogger);
      lr2.onUsage((e) => events.push(e));
      const bad = await lr2.chat(MODEL, HI).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ProviderBadRequestError);
      texts.push(String(bad), JSON.stringify(bad), inspect(bad, { depth: 5 }));
      const streamErr = await collect(lr2.stream(MODEL, HI, { provider: 'bedrock' })).catch((e: unknown) => e);
      expect(streamErr).toBeInstanceOf(ProviderBadRequestError);
      texts.push(String(streamErr), inspect(streamErr, { depth: 5 }));
      const lr3 = await engine(keys('api-1'), { logUsage: true }, debugLogger);
      lr3.onUsage((e) => events.push(e));
      const streamAuth = await collect(lr3.stream(MODEL, HI)).catch((e: unknown) => e);
      expect(streamAuth).toBeInstanceOf(AllKeysExhaustedError);
      texts.push(String(streamAuth), inspect(streamAuth, { depth: 5 }), String((streamAuth as { cause?: unknown }).cause));
      for (const x of [lr, lr2, lr3]) texts.push(JSON.stringify(await x.snapshot()));
      texts.push(JSON.stringify(events), lines.join('\n'));
      const all = texts.join('\n');
      expect(all).toContain('is not allowed'); // the upstream message does get through, scrubbed
      expect(lines.some((l) => l.startsWith('debug usage'))).toBe(true);
      for (const s of SECRETS) expect(all).not.toContain(s);
    });
  });
});
