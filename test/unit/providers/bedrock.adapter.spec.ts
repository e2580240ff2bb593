import { createHash } from 'node:crypto';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { ConfigurationError, ProviderTimeoutError, ProviderTransportError, UnsupportedFeatureError } from '../../../lib';
import { classifyThrown } from '../../../lib/core/classify';
import type { ProviderSettings } from '../../../lib/core/config/resolved-config';
import { BedrockAdapter, encodeModelId } from '../../../lib/core/providers/bedrock/bedrock.adapter';
import { parseBedrockSecret, regionFromHost } from '../../../lib/core/providers/bedrock/bedrock-auth';
import { classifyBedrockError, classifyStreamException } from '../../../lib/core/providers/bedrock/bedrock-errors';
import { readConverseStream } from '../../../lib/core/providers/bedrock/bedrock-event-stream';
import { mapStopReason, toConverseRequest } from '../../../lib/core/providers/bedrock/bedrock-mapping';
import type { CallTarget, StreamDelta, UnifiedRequest } from '../../../lib/core/providers/provider.interfaces';
import { Exchange } from '../../../lib/core/transport/http';

const enc = new TextEncoder();
const codec = new EventStreamCodec((b) => new TextDecoder().decode(b), (s) => enc.encode(s));
const adapter = new BedrockAdapter();
const HI: UnifiedRequest = { messages: [{ role: 'user', content: 'hi' }] };
const CREDS = { accessKeyId: 'AKIDUNITTEST00000001', secretAccessKey: 'unit/secret+key000000000000000000000000' };

function settings(extra: Partial<ProviderSettings> = {}): ProviderSettings {
  return { provider: 'bedrock', timeoutMs: 1000, headers: {}, health: { cooldownMs: 1000, quarantineMs: 1000, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 }, ...extra };
}

function target(extra: Partial<CallTarget> = {}): CallTarget {
  return {
    provider: 'bedrock',
    keyId: 'k1',
    model: 'anthropic.claude-3-haiku-20240307-v1:0',
    secret: 'ABSKunit-api-key',
    baseUrl: adapter.defaultBaseUrl,
    settings: settings({ region: 'us-east-1' }),
    metadata: {},
    ...extra,
  };
}

function event(type: string, body: unknown): Uint8Array {
  return codec.encode({
    headers: { ':event-type': { type: 'string', value: type }, ':content-type': { type: 'string', value: 'application/json' }, ':message-type': { type: 'string', value: 'event' } },
    body: enc.encode(JSON.stringify(body)),
  });
}

function exception(type: string, message: string): Uint8Array {
  return codec.encode({
    headers: { ':exception-type': { type: 'string', value: type }, ':content-type': { type: 'string', value: 'application/json' }, ':message-type': { type: 'string', value: 'exception' } },
    body: enc.encode(JSON.stringify({ message })),
  });
}

const HAPPY = [
  event('messageStart', { role: 'assistant' }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hel' }, p: 'xyz' }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'lo' } }),
  event('contentBlockStop', { contentBlockIndex: 0 }),
  event('messageStop', { stopReason: 'max_tokens' }),
  event('metadata', { usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 }, metrics: { latencyMs: 1 } }),
];

/** A body that delivers `bytes` in pieces of `size` bytes (then optionally fails). */
function body(bytes: Uint8Array, size: number, failWith?: Error): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (at >= bytes.length) {
        if (failWith) ctrl.error(failWith);
        else ctrl.close();
        return;
      }
      ctrl.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

/** A real Exchange that counts how often the stream reader re-arms its deadline. */
class CountingExchange extends Exchange {
  touches = 0;
  constructor() {
    super('bedrock', 10_000, undefined);
  }
  override touch(): void {
    this.touches++;
    super.touch();
  }
}

async function collect<E extends Exchange = CountingExchange>(stream: ReadableStream<Uint8Array>, ex: E = new CountingExchange() as unknown as E): Promise<{ deltas: StreamDelta[]; ex: E }> {
  const deltas: StreamDelta[] = [];
  try {
    for await (const d of readConverseStream(ex, stream)) deltas.push(d);
  } finally {
    ex.finish(false);
  }
  return { deltas, ex };
}

function concat(frames: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(frames));
}

describe('bedrock adapter: unified model → Converse', () => {
  it('hoists system messages, one block per text part, drops blank texts, merges consecutive roles, maps inference settings', () => {
    const body = toConverseRequest({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
        { role: 'user', content: 'c' },
        { role: 'system', content: [{ type: 'text', text: 'Use metric units.' }, { type: 'text', text: ' ' }] },
        { role: 'user', content: '' },
        { role: 'assistant', content: 'x' },
        { role: 'user', content: '  ' },
        { role: 'assistant', content: 'y' },
        { role: 'user', content: 'z' },
      ],
      maxTokens: 100,
      temperature: 0.2,
      topP: 0.9,
      stop: ['END'],
    });
    expect(body).toEqual({
      system: [{ text: 'Be brief.' }, { text: 'Use metric units.' }],
      messages: [
        { role: 'user', content: [{ text: 'a' }, { text: 'b' }, { text: 'c' }] },
        { role: 'assistant', content: [{ text: 'x' }, { text: 'y' }] },
        { role: 'user', content: [{ text: 'z' }] },
      ],
      inferenceConfig: { maxTokens: 100, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
    });
    expect(toConverseRequest(HI)).toEqual({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
  });

  it('refuses conversations Converse cannot take, naming bedrock; the engine treats that as the caller fault', () => {
    const assistantFirst = () => toConverseRequest({ messages: [{ role: 'system', content: 's' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: 'hi' }] });
    expect(assistantFirst).toThrow(UnsupportedFeatureError);
    expect(assistantFirst).toThrow(/^bedrock does not support .*first message to be from the user/);
    expect(() => toConverseRequest({ messages: [{ role: 'system', content: 's' }] })).toThrow(/^bedrock does not support .*without user text/);
    expect(() => toConverseRequest({ messages: [{ role: 'user', content: ' ' }, { role: 'assistant', content: 'a' }] })).toThrow(/first message to be from the user/);
    const err = (() => {
      try {
        assistantFirst();
      } catch (e) {
        return e;
      }
    })();
    expect(classifyThrown(err, 0)).toEqual({ kind: 'bad_request' });
  });

  it('maps stop reasons', () => {
    expect(['end_turn', 'stop_sequence', 'max_tokens', 'guardrail_intervened', 'content_filtered', 'tool_use', 'malformed_model_output', undefined].map(mapStopReason)).toEqual([
      'stop',
      'stop',
      'length',
      'content_filter',
      'content_filter',
      'tool_calls',
      'other',
      'stop',
    ]);
  });

  it('parses a Converse response: text blocks joined, usage, finish reason; a body without content is malformed', () => {
    expect(
      adapter.parseResponse({
        output: { message: { role: 'assistant', content: [{ reasoningContent: { reasoningText: { text: 'hmm' } } }, { text: 'Hello ' }, { text: 'world' }] } },
        stopReason: 'stop_sequence',
        usage: { inputTokens: 7, outputTokens: 2, totalTokens: 9 },
      }),
    ).toEqual({ content: 'Hello world', finishReason: 'stop', usage: { inputTokens: 7, outputTokens: 2 } });
    const malformed = expect.objectContaining({ name: 'ProviderTransportError', code: 'EMALFORMED' });
    expect(() => adapter.parseResponse({ output: {} })).toThrow(malformed);
    expect(() => adapter.parseResponse(null)).toThrow(malformed);
  });
});

describe('bedrock adapter: request building and auth', () => {
  it('encodes model ids as the AWS SDK does', () => {
    expect(encodeModelId('anthropic.claude-3-haiku-20240307-v1:0')).toBe('anthropic.claude-3-haiku-20240307-v1%3A0');
    expect(encodeModelId('arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc')).toBe(
      'arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc',
    );
    expect(encodeModelId("m(1)!*'")).toBe('m%281%29%21%2A%27');
  });

  it('bearer API key: default regional endpoint, Authorization: Bearer, the JSON body', async () => {
    const r = await adapter.buildRequest(target({ settings: settings({ region: 'eu-west-1', headers: { 'X-Trace': 't1' } }) }), HI, false);
    expect(r.url).toBe('https://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    expect(r.headers).toEqual({ 'x-trace': 't1', 'content-type': 'application/json', authorization: 'Bearer ABSKunit-api-key' });
    expect(JSON.parse(r.body)).toEqual({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
    const s = await adapter.buildRequest(target({ metadata: { region: 'ap-northeast-1' } }), HI, true);
    expect(s.url).toBe('https://bedrock-runtime.ap-northeast-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream');
  });

  it('region: key metadata, then provider region, then provider location', async () => {
    const url = async (t: Partial<CallTarget>) => (await adapter.buildRequest(target(t), HI, false)).url;
    expect(await url({ metadata: { region: 'us-west-2' }, settings: settings({ region: 'eu-west-1', location: 'ca-central-1' }) })).toContain('.us-west-2.');
    expect(await url({ settings: settings({ region: 'eu-west-1', location: 'ca-central-1' }) })).toContain('.eu-west-1.');
    expect(await url({ settings: settings({ location: 'ca-central-1' }) })).toContain('.ca-central-1.');
  });

  it('a missing region is a clear error naming the key (at start-up checks and at call time)', async () => {
    const t = target({ keyId: 'bedrock-eu', settings: settings() });
    await expect(adapter.buildRequest(t, HI, false)).rejects.toThrow(ConfigurationError);
    await expect(adapter.buildRequest(t, HI, false)).rejects.toThrow(/registry\.keys\(bedrock-eu\): bedrock needs an AWS region/);
    expect(adapter.configProblems(t)).toEqual([expect.stringMatching(/^registry\.keys\(bedrock-eu\): bedrock needs an AWS region/)]);
    expect(adapter.configProblems(target())).toEqual([]);
    // A bearer key behind an explicit endpoint needs no region.
    expect(adapter.configProblems({ ...t, baseUrl: 'https://proxy.example.com/bedrock' })).toEqual([]);
    const r = await adapter.buildRequest({ ...t, baseUrl: 'https://proxy.example.com/bedrock/' }, HI, false);
    expect(r.url).toBe('https://proxy.example.com/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    // SigV4 needs one to sign, unless the endpoint host names it.
    await expect(adapter.buildRequest({ ...t, baseUrl: 'https://proxy.example.com', secret: JSON.stringify(CREDS) }, HI, false)).rejects.toThrow(/bedrock-eu.*to sign requests with SigV4/);
  });

  it('AWS credentials: SigV4 over the real path, headers and body; session token; region from the host', async () => {
    const creds = JSON.stringify({ ...CREDS, sessionToken: 'unit-session-token' });
    const r = await adapter.buildRequest(target({ secret: creds, baseUrl: 'https://bedrock-runtime.ap-south-1.amazonaws.com', settings: settings() }), HI, false);
    expect(r.url).toBe('https://bedrock-runtime.ap-south-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    expect(r.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDUNITTEST00000001\/\d{8}\/ap-south-1\/bedrock\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    expect(r.headers['x-amz-security-token']).toBe('unit-session-token');
    expect(r.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(r.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(r.body).digest('hex'));
    expect(r.headers.host).toBeUndefined();
    expect(JSON.stringify(r.headers)).not.toContain(CREDS.secretAccessKey);
  });

  it('secrets: JSON credentials vs API keys; a broken JSON secret names the key, never the value', () => {
    expect(parseBedrockSecret('k', ' ABSKkey ')).toEqual({ kind: 'bearer', token: 'ABSKkey' });
    expect(parseBedrockSecret('k', JSON.stringify(CREDS))).toEqual({ kind: 'sigv4', credentials: CREDS });
    const bad = '{"accessKeyId":"AKIDUNITTEST00000001","secretAccessKey":"unit/secret+key0000" ';
    expect(() => parseBedrockSecret('k9', bad)).toThrow(/registry\.keys\(k9\)\.secretRef: the bedrock secret looks like JSON but does not parse/);
    expect(() => parseBedrockSecret('k9', '{"accessKeyId":"AKID"}')).toThrow(/registry\.keys\(k9\)\.secretRef: .*accessKeyId and secretAccessKey/);
    try {
      parseBedrockSecret('k9', bad);
    } catch (e) {
      expect((e as Error).message).not.toContain('unit/secret');
    }
  });

  it('reads the region of Bedrock endpoint hosts', () => {
    expect(regionFromHost('bedrock-runtime.us-east-1.amazonaws.com')).toBe('us-east-1');
    expect(regionFromHost('bedrock-runtime-fips.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
    expect(regionFromHost('vpce-0abc.bedrock-runtime.eu-central-1.vpce.amazonaws.com')).toBe('eu-central-1');
    expect(regionFromHost('127.0.0.1')).toBeUndefined();
  });
});

describe('bedrock adapter: error classification', () => {
  const h = (type: string, extra: Record<string, string> = {}) => new Headers({ 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, ...extra });
  it.each([
    [429, 'ThrottlingException', 'rate_limit'],
    [400, 'ServiceQuotaExceededException', 'rate_limit'],
    [403, 'AccessDeniedException', 'auth'],
    [403, 'UnrecognizedClientException', 'auth'],
    [403, 'InvalidSignatureException', 'auth'],
    [403, 'ExpiredTokenException', 'auth'],
    [400, 'ValidationException', 'bad_request'],
    [404, 'ResourceNotFoundException', 'bad_request'],
    [424, 'ModelErrorException', 'transient'],
    [408, 'ModelTimeoutException', 'transient'],
    [429, 'ModelNotReadyException', 'transient'],
    [500, 'InternalServerException', 'transient'],
    [503, 'ServiceUnavailableException', 'transient'],
  ] as const)('%i %s → %s', (status, type, kind) => {
    const c = classifyBedrockError(status, h(type), JSON.stringify({ message: 'why' }), 0);
    expect(c).toEqual({ kind, status, message: `${type}: why` });
  });

  it('honours retry-after; reads __type when the header is absent; falls back to the status', () => {
    expect(classifyBedrockError(429, h('ThrottlingException', { 'retry-after': '7' }), '{"message":"slow down"}', 0)).toEqual({
      kind: 'rate_limit',
      status: 429,
      message: 'ThrottlingException: slow down',
      retryAfterMs: 7000,
    });
    expect(classifyBedrockError(400, new Headers(), '{"__type":"com.amazon.coral.service#ServiceQuotaExceededException","Message":"quota"}', 0).kind).toBe('rate_limit');
    expect(classifyBedrockError(502, new Headers(), '<html>bad gateway</html>', 0)).toEqual({ kind: 'transient', status: 502, message: '<html>bad gateway</html>' });
    expect(classifyBedrockError(429, new Headers(), '', 0).kind).toBe('rate_limit');
  });

  it('stream exceptions by their camelCase :exception-type', () => {
    expect(classifyStreamException('throttlingException', '{"message":"slow"}')).toEqual({ kind: 'rate_limit', status: 429, message: 'ThrottlingException: slow' });
    expect(classifyStreamException('modelStreamErrorException', '{"message":"boom"}')).toMatchObject({ kind: 'transient', status: 424 });
    expect(classifyStreamException('internalServerException', '{}')).toMatchObject({ kind: 'transient', status: 500 });
    expect(classifyStreamException('serviceUnavailableException', '{}')).toMatchObject({ kind: 'transient', status: 503 });
    expect(classifyStreamException('validationException', '{"message":"bad"}')).toMatchObject({ kind: 'bad_request', status: 400 });
    expect(classifyStreamException('somethingNewException', '{"message":"?"}')).toMatchObject({ kind: 'transient', status: 500 });
  });

  it('classifyThrown: an AWS error name decides over its status', () => {
    const awsError = (name: string, status: number) => Object.assign(new Error('x'), { name, $metadata: { httpStatusCode: status } });
    expect(classifyThrown(awsError('ModelNotReadyException', 429), 0)).toEqual({ kind: 'transient' });
    expect(classifyThrown(awsError('ServiceQuotaExceededException', 400), 0)).toEqual({ kind: 'rate_limit' });
    expect(classifyThrown(awsError('ModelErrorException', 424), 0)).toEqual({ kind: 'transient' });
    expect(classifyThrown(awsError('ThrottlingException', 429), 0)).toEqual({ kind: 'rate_limit' });
  });
});

describe('bedrock adapter: ConverseStream event-stream decoding', () => {
  const expected: StreamDelta[] = [{ delta: 'Hel' }, { delta: 'lo' }, { finishReason: 'length' }, { usage: { inputTokens: 3, outputTokens: 2 } }];

  it.each([1, 5, 64, 100_000])('decodes frames delivered in %i-byte chunks, re-arming the deadline per chunk', async (size) => {
    const bytes = concat(HAPPY);
    const { deltas, ex } = await collect(body(bytes, size));
    expect(deltas).toEqual(expected);
    // Armed before each read: one per chunk, and one for the read that finds the end.
    expect(ex.touches).toBe(Math.ceil(bytes.length / size) + 1);
  });

  it('an exception frame becomes an error delta and ends the stream', async () => {
    const { deltas } = await collect(body(concat([HAPPY[0], HAPPY[1], exception('throttlingException', 'Too many tokens'), HAPPY[2]]), 7));
    expect(deltas).toEqual([{ delta: 'Hel' }, { error: { kind: 'rate_limit', status: 429, message: 'ThrottlingException: Too many tokens' } }]);
  });

  it('an unmodeled :message-type error frame becomes a transient error delta', async () => {
    const frame = codec.encode({
      headers: { ':message-type': { type: 'string', value: 'error' }, ':error-code': { type: 'string', value: 'InternalFailure' }, ':error-message': { type: 'string', value: 'oops' } },
      body: new Uint8Array(0),
    });
    const { deltas } = await collect(body(concat([HAPPY[0], frame]), 1000));
    expect(deltas).toEqual([{ error: { kind: 'transient', status: 500, message: 'InternalFailure: oops' } }]);
  });

  it.each([
    ['a frame cut short', concat([HAPPY[0], HAPPY[1].subarray(0, 20)]), /Truncated event message/],
    ['a bad checksum', concat([HAPPY[0], Uint8Array.from(HAPPY[1], (b, i) => (i === HAPPY[1].length - 1 ? b ^ 0xff : b))]), /checksum/],
    ['no messageStop', concat(HAPPY.slice(0, 4)), /ended before messageStop/],
    ['an event body that is not JSON', concat([codec.encode({ headers: { ':message-type': { type: 'string', value: 'event' }, ':event-type': { type: 'string', value: 'contentBlockDelta' } }, body: enc.encode('{"delta":') })]), /JSON/],
  ])('%s is a malformed answer (EMALFORMED)', async (_name, bytes, why) => {
    const err = await collect(body(bytes, 9)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderTransportError);
    expect((err as ProviderTransportError).code).toBe('EMALFORMED');
    expect((err as Error).message).toMatch(why);
  });

  it('a failing read is translated by the exchange, not called malformed', async () => {
    const err = await collect(body(concat(HAPPY.slice(0, 2)), 1000, Object.assign(new TypeError('terminated'), { cause: { code: 'ECONNRESET' } }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderTransportError);
    expect((err as ProviderTransportError).code).toBe('ECONNRESET');
  });

  it('a stalled stream hits the exchange deadline', async () => {
    const ex = new Exchange('bedrock', 50, undefined);
    const stalled = new ReadableStream<Uint8Array>({
      start(ctrl) {
        ctrl.enqueue(HAPPY[0]);
        ex.signal.addEventListener('abort', () => ctrl.error(new DOMException('aborted', 'AbortError')));
      },
    });
    const err = await collect(stalled, ex).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderTimeoutError);
  });
});
