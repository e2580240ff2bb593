import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  type BedrockRuntimeClientConfig,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LlmRotate } from '../../../lib';
import { classifyThrown } from '../../../lib/core/classify';
import { BedrockFake } from '../../fakes/bedrock-fake';
import { makeOptions, recordingLogger } from '../../support/options';

/**
 * The official AWS SDK pointed at the fake: proves the fake speaks Bedrock's real wire format (SigV4 as the SDK
 * signs it, Converse JSON, ConverseStream event-stream frames, error types), so the adapter tests that run
 * against the fake test the real format. The SDK's default HTTP/2 handler is swapped for its HTTP/1.1 one
 * (the fake is an HTTP/1.1 server; the bytes of JSON, frames and signatures are the same over both).
 */
const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';
const CREDS = { accessKeyId: 'AKIDSDKTEST000000001', secretAccessKey: 'sdk-secret/Very+Secret0000000000000000' };
const TEMP = { accessKeyId: 'ASIASDKTEST000000002', secretAccessKey: 'sdk-temp-secret00000000000000000000000', sessionToken: 'sdk-session-token-0000' };
const API_KEY = 'ABSKsdk-bedrock-api-key-000000';

describe('bedrock fake vs the official @aws-sdk/client-bedrock-runtime', () => {
  let fake: BedrockFake;
  const clients: BedrockRuntimeClient[] = [];
  const client = (extra: Partial<BedrockRuntimeClientConfig>): BedrockRuntimeClient => {
    const c = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: fake.url, maxAttempts: 1, requestHandler: new NodeHttpHandler(), ...extra });
    clients.push(c);
    return c;
  };
  const messages = [{ role: 'user' as const, content: [{ text: 'hi' }] }];

  beforeAll(async () => {
    fake = await BedrockFake.start({ credentials: [CREDS, TEMP], apiKeys: [API_KEY], reply: 'Hello from the fake', throttleHeaders: { 'retry-after': '3' } });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await fake.close();
  });

  it('ConverseCommand, signed by the SDK, is verified and answered', async () => {
    const out = await client({ credentials: CREDS }).send(
      new ConverseCommand({ modelId: MODEL, system: [{ text: 'Be brief.' }], messages, inferenceConfig: { maxTokens: 20, temperature: 0.1 } }),
    );
    expect(out.output?.message?.content?.[0]?.text).toBe('Hello from the fake');
    expect(out.stopReason).toBe('end_turn');
    expect(out.usage).toEqual({ inputTokens: 11, outputTokens: 4, totalTokens: 15 });
    const call = fake.calls.at(-1);
    expect(call).toMatchObject({ auth: 'sigv4', identity: CREDS.accessKeyId, region: 'us-east-1', modelId: MODEL, operation: 'converse' });
    // The SDK encodes the model id's ':' in the path it signs, as our adapter does.
    expect(call?.rawPath).toBe('/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    expect(call?.body.system).toEqual([{ text: 'Be brief.' }]);
  });

  it('temporary credentials (session token) and bearer API keys are accepted', async () => {
    const t = await client({ credentials: TEMP, region: 'eu-west-3' }).send(new ConverseCommand({ modelId: MODEL, messages }));
    expect(t.output?.message?.content?.[0]?.text).toBe('Hello from the fake');
    expect(fake.calls.at(-1)).toMatchObject({ auth: 'sigv4', identity: TEMP.accessKeyId, region: 'eu-west-3' });
    const b = await client({ token: { token: API_KEY }, authSchemePreference: ['httpBearerAuth'] }).send(new ConverseCommand({ modelId: MODEL, messages }));
    expect(b.output?.message?.content?.[0]?.text).toBe('Hello from the fake');
    expect(fake.calls.at(-1)).toMatchObject({ auth: 'bearer', identity: API_KEY });
  });

  it('a signature made with the wrong secret is refused with InvalidSignatureException (auth)', async () => {
    const wrong = client({ credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: 'not-the-secret' } });
    const err = await wrong.send(new ConverseCommand({ modelId: MODEL, messages })).catch((e: unknown) => e);
    expect((err as Error).name).toBe('InvalidSignatureException');
    expect(classifyThrown(err, Date.now())).toEqual({ kind: 'auth' });
  });

  it('ConverseStreamCommand decodes the fake event stream (frames split across chunks too)', async () => {
    for (const chunking of ['frame', 'split', 'coalesced'] as const) {
      fake.options.chunking = chunking;
      const out = await client({ credentials: CREDS }).send(new ConverseStreamCommand({ modelId: MODEL, messages }));
      const events: ConverseStreamOutput[] = [];
      for await (const ev of out.stream ?? []) events.push(ev);
      const text = events.map((e) => e.contentBlockDelta?.delta?.text ?? '').join('');
      expect(text).toBe('Hello from the fake');
      expect(events.find((e) => e.messageStop)?.messageStop?.stopReason).toBe('end_turn');
      expect(events.find((e) => e.metadata)?.metadata?.usage).toEqual({ inputTokens: 11, outputTokens: 4, totalTokens: 15 });
      expect(events[0].messageStart?.role).toBe('assistant');
    }
    fake.options.chunking = undefined;
  });

  it("the SDK's ThrottlingException from the fake is classified as a rate limit, with retry-after", async () => {
    fake.script(CREDS.accessKeyId, 'throttling', 'ok');
    const err = await client({ credentials: CREDS }).send(new ConverseCommand({ modelId: MODEL, messages })).catch((e: unknown) => e);
    expect((err as Error).name).toBe('ThrottlingException');
    expect((err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(429);
    expect(classifyThrown(err, Date.now())).toEqual({ kind: 'rate_limit', retryAfterMs: 3000 });
  });

  it('a throttlingException frame mid-stream surfaces as the SDK ThrottlingException and classifies as a rate limit', async () => {
    fake.script(CREDS.accessKeyId, 'stream_exception_midway', 'ok');
    const out = await client({ credentials: CREDS }).send(new ConverseStreamCommand({ modelId: MODEL, messages }));
    const texts: string[] = [];
    const err = await (async () => {
      for await (const ev of out.stream ?? []) if (ev.contentBlockDelta?.delta?.text) texts.push(ev.contentBlockDelta.delta.text);
    })().catch((e: unknown) => e);
    expect(texts).toEqual(['Hello ']);
    expect((err as Error).name).toBe('ThrottlingException');
    expect(classifyThrown(err, Date.now()).kind).toBe('rate_limit');
  });

  it.each([
    ['model_not_ready', 'ModelNotReadyException', 429, 'transient'],
    ['quota', 'ServiceQuotaExceededException', 400, 'rate_limit'],
    ['model_error', 'ModelErrorException', 424, 'transient'],
    ['access_denied', 'AccessDeniedException', 403, 'auth'],
    ['validation', 'ValidationException', 400, 'bad_request'],
    ['not_found', 'ResourceNotFoundException', 404, 'bad_request'],
    ['unavailable', 'ServiceUnavailableException', 503, 'transient'],
  ] as const)('SDK error for %s (%s %i) classifies as %s', async (behavior, name, status, kind) => {
    fake.script(CREDS.accessKeyId, behavior, 'ok');
    const err = await client({ credentials: CREDS }).send(new ConverseCommand({ modelId: MODEL, messages })).catch((e: unknown) => e);
    expect((err as Error).name).toBe(name);
    expect((err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(status);
    expect(classifyThrown(err, Date.now()).kind).toBe(kind);
  });

  it('acquire()/withKey lends the JSON credentials to the SDK and reports its ThrottlingException as a cooldown', async () => {
    const keys = [{ keyId: 'sdk-lent', provider: 'bedrock' as const, models: [MODEL], secret: JSON.stringify(CREDS), metadata: { region: 'us-east-1' } }];
    const lr = await LlmRotate.create(makeOptions(fake.url, keys), { logger: recordingLogger().logger });
    try {
      fake.script(CREDS.accessKeyId, 'throttling', 'ok');
      const err = await lr
        .withKey('bedrock', { model: MODEL }, (ctx) => {
          const creds = JSON.parse(ctx.keyValue) as typeof CREDS;
          return client({ credentials: creds, region: ctx.metadata.region as string, endpoint: ctx.baseUrl }).send(new ConverseCommand({ modelId: MODEL, messages }));
        })
        .catch((e: unknown) => e);
      expect((err as Error).name).toBe('ThrottlingException');
      const key = (await lr.snapshot()).keys.find((k) => k.keyId === 'sdk-lent');
      expect(key?.state).toBe('COOLDOWN');
    } finally {
      await lr.close();
    }
  });
});
