import * as otel from '@opentelemetry/api';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LlmRotate, type KeyOptions, type LlmRotateDeps, type LlmRotateOptions } from '../../../lib';
import { TracingObserver } from '../../../lib/core/observability/tracing/tracing.observer';
import { OpenAiFake } from '../../fakes/openai-fake';
import { collect } from '../../support/engine';
import { recordingLogger } from '../../support/options';
import { AsyncLocalStorageContextManager, memoryTracing, recordingMeterProvider, spanStrings } from '../../support/otel';

const MSG = [{ role: 'user' as const, content: 'hi' }];
/** Canary secrets: none of them, nor any 8-character run of them, may appear in a span. */
const SECRETS = { a: 'sk-canary-A-9fQ2xLmZ7rT4', b: 'sk-canary-B-3vN8kWp1sY6u', c: 'sk-canary-C-5hJ0dGq2bE9i', az: 'az-canary-Z-6tP4wQ8eR2yU', q: 'sk-canary-Q-2mB7nV5cX1zL' };
const PRICING = { 'gpt-4o-mini': { inputPerMTok: 1, outputPerMTok: 2 } };

function expectNoSecret(spans: readonly ReadableSpan[]): void {
  const text = spanStrings(spans);
  expect(text).not.toContain('literal://');
  for (const s of Object.values(SECRETS)) for (let i = 0; i + 8 <= s.length; i++) expect(text).not.toContain(s.slice(i, i + 8));
}

const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

/** The call span (the one without a parent among ours) and its children in start order. */
function tree(spans: readonly ReadableSpan[]): { call: ReadableSpan; attempts: ReadableSpan[] } {
  const calls = spans.filter((s) => !spans.some((p) => p.spanContext().spanId === parentOf(s)));
  expect(calls).toHaveLength(1);
  const call = calls[0];
  const attempts = spans.filter((s) => parentOf(s) === call.spanContext().spanId).sort((x, y) => Number(x.attributes['llm_rotate.attempt']) - Number(y.attributes['llm_rotate.attempt']));
  expect(attempts.length).toBe(spans.length - 1);
  for (const a of attempts) expect(a.spanContext().traceId).toBe(call.spanContext().traceId);
  return { call, attempts };
}

describe('OpenTelemetry tracing: a span per call, a child per attempt (in-memory exporter)', () => {
  let openai: OpenAiFake;
  let azure: OpenAiFake;
  let lr: LlmRotate;
  const tracing = memoryTracing();
  const meter = recordingMeterProvider();

  beforeAll(async () => {
    [openai, azure] = await Promise.all([OpenAiFake.start(), OpenAiFake.start()]);
    const keys: KeyOptions[] = [
      { keyId: 'a', provider: 'openai', secretRef: `literal://${SECRETS.a}`, models: ['gpt-4o-mini'], priority: 10, baseUrl: openai.baseUrl },
      { keyId: 'b', provider: 'openai', secretRef: `literal://${SECRETS.b}`, models: ['gpt-4o-mini'], baseUrl: openai.baseUrl },
      { keyId: 'c', provider: 'openai', secretRef: `literal://${SECRETS.c}`, models: ['gpt-4o'], baseUrl: openai.baseUrl },
      { keyId: 'az', provider: 'azure_openai', secretRef: `literal://${SECRETS.az}`, models: ['house-model'], baseUrl: azure.url },
      { keyId: 'q', provider: 'openai', secretRef: `literal://${SECRETS.q}`, models: ['quarantined-model'], baseUrl: openai.baseUrl },
    ];
    const options: LlmRotateOptions = { registry: { keys, fallbacks: { 'gpt-4o': ['house-model'] } }, useKeys: keys.map((k) => k.keyId), pricing: PRICING };
    lr = await LlmRotate.create(options, { logger: recordingLogger().logger, otel: { tracerProvider: tracing.provider, meterProvider: meter.provider } });
  });
  afterAll(async () => {
    await lr.close();
    await Promise.all([openai.close(), azure.close(), tracing.provider.shutdown()]);
  });
  beforeEach(() => {
    tracing.exporter.reset();
    meter.adds.length = 0;
  });

  it('a rotation (429 then success): one CLIENT call span with the GenAI attributes, two attempt children', async () => {
    openai.script(SECRETS.a, 'rate_limit');
    const r = await lr.chat('gpt-4o-mini', MSG);
    expect(r.keyId).toBe('b');
    const { call, attempts } = tree(tracing.spans());
    expect(call.name).toBe('chat gpt-4o-mini');
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(call.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 9,
      'gen_ai.usage.output_tokens': 3,
      'llm_rotate.source': 'chat',
      'llm_rotate.key_id': 'b',
      'llm_rotate.outcome': 'success',
      'llm_rotate.attempts': 2,
      'llm_rotate.fallback': false,
      'llm_rotate.cost_usd': 15e-6,
    });
    expect(call.attributes['llm_rotate.request_id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(call.attributes['gen_ai.system']).toBeUndefined(); // deprecated in favour of gen_ai.provider.name
    expect(attempts.map((a) => a.name)).toEqual(['attempt openai/gpt-4o-mini', 'attempt openai/gpt-4o-mini']);
    expect(attempts[0].attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'llm_rotate.key_id': 'a',
      'llm_rotate.attempt': 1,
      'llm_rotate.fallback': false,
      'llm_rotate.outcome': 'rate_limit',
      'http.response.status_code': 429,
      'error.type': 'ProviderHttpError',
    });
    expect(attempts[0].status).toEqual({ code: SpanStatusCode.ERROR, message: 'rate_limit 429' });
    expect(attempts[1].attributes).toMatchObject({ 'llm_rotate.key_id': 'b', 'llm_rotate.attempt': 2, 'llm_rotate.outcome': 'success', 'gen_ai.response.model': 'gpt-4o-mini' });
    expect(attempts[1].attributes['error.type']).toBeUndefined();
    expect(attempts[1].status.code).toBe(SpanStatusCode.UNSET);
    // Tokens are on the call span only (the conventions' inference span covers the retries): summing them over a trace counts them once.
    expect(attempts[1].attributes['gen_ai.usage.input_tokens']).toBeUndefined();
    // Each attempt span lies within the call span.
    for (const a of attempts) {
      expect(hr(a.startTime)).toBeGreaterThanOrEqual(hr(call.startTime));
      expect(hr(a.endTime)).toBeLessThanOrEqual(hr(call.endTime));
    }
    // The OpenTelemetry counters: two attempts, one error, one rotation.
    const adds = (name: string) => meter.adds.filter((x) => x.counter === name);
    expect(adds('llm_rotate.attempts').map((x) => [x.attributes['llm_rotate.key_id'], x.attributes['llm_rotate.outcome']])).toEqual([['a', 'rate_limit'], ['b', 'success']]);
    expect(adds('llm_rotate.errors')).toEqual([{ counter: 'llm_rotate.errors', value: 1, attributes: expect.objectContaining({ 'error.type': 'ProviderHttpError', 'llm_rotate.key_id': 'a', 'gen_ai.provider.name': 'openai' }) }]);
    expect(adds('llm_rotate.rotations')).toEqual([{ counter: 'llm_rotate.rotations', value: 1, attributes: { 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'llm_rotate.source': 'chat' } }]);
    expect(adds('llm_rotate.fallbacks')).toHaveLength(0);
    expectNoSecret(tracing.spans());
  });

  it("a fallback to another provider: the second child names Azure's provider and the fallback model; the call span the answer's", async () => {
    openai.script(SECRETS.c, 'server_error');
    const r = await lr.chat('gpt-4o', MSG);
    expect(r).toMatchObject({ provider: 'azure_openai', model: 'house-model' });
    const { call, attempts } = tree(tracing.spans());
    expect(call.name).toBe('chat gpt-4o');
    expect(call.attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.response.model': 'house-model', 'gen_ai.provider.name': 'azure.ai.openai', 'llm_rotate.provider': 'azure_openai', 'llm_rotate.fallback': true, 'llm_rotate.cost_unknown': true });
    expect(call.attributes['llm_rotate.cost_usd']).toBeUndefined();
    expect(attempts.map((a) => [a.name, a.attributes['gen_ai.provider.name'], a.attributes['llm_rotate.fallback'], a.attributes['llm_rotate.outcome']])).toEqual([
      ['attempt openai/gpt-4o', 'openai', false, 'transient'],
      ['attempt azure_openai/house-model', 'azure.ai.openai', true, 'success'],
    ]);
    expect(attempts[0].attributes['http.response.status_code']).toBe(500);
    expect(meter.adds.filter((x) => x.counter === 'llm_rotate.fallbacks')).toHaveLength(1);
    expectNoSecret(tracing.spans());
  });

  it('a stream: the call span says stream and carries the usage of the last chunk', async () => {
    const chunks = await collect(lr.stream('gpt-4o-mini', MSG));
    const { call, attempts } = tree(tracing.spans());
    expect(call.name).toBe('chat gpt-4o-mini');
    expect(call.attributes).toMatchObject({ 'gen_ai.request.stream': true, 'llm_rotate.source': 'stream', 'llm_rotate.outcome': 'success', 'gen_ai.usage.input_tokens': chunks.at(-1)?.usage?.inputTokens, 'gen_ai.usage.output_tokens': 3 });
    expect(attempts).toHaveLength(1);
    expect(attempts[0].attributes['llm_rotate.outcome']).toBe('success');
  });

  it('a stream the consumer leaves: the call ends "cancelled" without an error status, and so does its attempt', async () => {
    for await (const _ of lr.stream('gpt-4o-mini', MSG)) break;
    const { call, attempts } = tree(tracing.spans());
    expect(call.attributes['llm_rotate.outcome']).toBe('cancelled');
    expect(call.status.code).toBe(SpanStatusCode.UNSET);
    expect(attempts).toHaveLength(1);
    expect(attempts[0].attributes['llm_rotate.outcome']).toBe('cancelled');
    expect(attempts[0].ended).toBe(true);
  });

  it('an acquire: an INTERNAL span "acquire openai" around the lent key; an error reported on it is the span’s error', async () => {
    const ctx = await lr.acquire('openai', { model: 'gpt-4o-mini' });
    expect(tracing.spans()).toHaveLength(0); // nothing ends while the key is lent
    await ctx.reportSuccess({ inputTokens: 100, outputTokens: 50 });
    await ctx.release();
    let t = tree(tracing.spans());
    expect(t.call.name).toBe('acquire openai');
    expect(t.call.kind).toBe(SpanKind.INTERNAL);
    expect(t.call.attributes).toMatchObject({ 'llm_rotate.source': 'acquire', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 50, 'llm_rotate.cost_usd': 200e-6 });
    expect(t.call.attributes['gen_ai.operation.name']).toBeUndefined();
    expect(t.attempts.map((a) => a.name)).toEqual(['attempt openai/gpt-4o-mini']);

    tracing.exporter.reset();
    const ctx2 = await lr.acquire('openai', { model: 'gpt-4o-mini' });
    await ctx2.reportError({ kind: 'transient' });
    await ctx2.release();
    t = tree(tracing.spans());
    expect(t.call.status.code).toBe(SpanStatusCode.ERROR);
    expect(t.call.attributes).toMatchObject({ 'llm_rotate.outcome': 'transient', 'error.type': 'ExplicitReport' });
    expect(t.attempts[0].status.code).toBe(SpanStatusCode.ERROR);

    tracing.exporter.reset();
    const unused = await lr.acquire('openai', { model: 'gpt-4o-mini' });
    await unused.release();
    t = tree(tracing.spans());
    expect(t.call.attributes['llm_rotate.outcome']).toBe('cancelled');
    expect(t.attempts[0].attributes['llm_rotate.outcome']).toBe('cancelled');
  });

  it('a call nobody can serve: ERROR with the library error’s class and a scrubbed message; no secret anywhere (a 401 echoes the key)', async () => {
    openai.script(SECRETS.q, 'auth');
    await expect(lr.chat('quarantined-model', MSG)).rejects.toThrow(/All keys/);
    const { call, attempts } = tree(tracing.spans());
    expect(call.status.code).toBe(SpanStatusCode.ERROR);
    expect(call.status.message).toMatch(/^All keys for "quarantined-model" failed \[q: auth 401/);
    expect(call.attributes).toMatchObject({ 'error.type': 'AllKeysExhaustedError', 'llm_rotate.outcome': 'exhausted', 'llm_rotate.attempts': 1 });
    expect(attempts[0].attributes).toMatchObject({ 'llm_rotate.outcome': 'auth', 'http.response.status_code': 401, 'error.type': 'ProviderHttpError' });
    expectNoSecret(tracing.spans());
    // Then no key at all: NoAvailableKeyError, no attempt.
    tracing.exporter.reset();
    await expect(lr.chat('quarantined-model', MSG)).rejects.toThrow(/No key/);
    const only = tracing.spans();
    expect(only).toHaveLength(1);
    expect(only[0].attributes).toMatchObject({ 'error.type': 'NoAvailableKeyError', 'llm_rotate.attempts': 0 });
  });

  it("the call span is a child of the caller's active span (the context where chat() was called)", async () => {
    const manager = new AsyncLocalStorageContextManager();
    context.setGlobalContextManager(manager);
    try {
      const tracer = tracing.provider.getTracer('app');
      await tracer.startActiveSpan('POST /chat', async (httpSpan) => {
        await lr.chat('gpt-4o-mini', MSG);
        httpSpan.end();
      });
      const spans = tracing.spans();
      const http = spans.find((s) => s.name === 'POST /chat') as ReadableSpan;
      const call = spans.find((s) => s.name === 'chat gpt-4o-mini') as ReadableSpan;
      expect(parentOf(call)).toBe(http.spanContext().spanId);
      expect(call.spanContext().traceId).toBe(http.spanContext().traceId);
    } finally {
      context.disable();
    }
  });
});

describe('when tracing is on, and what it costs when it is off', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await OpenAiFake.start();
  });
  afterAll(() => fake.close());
  afterEach(() => {
    trace.disable();
    otel.metrics.disable();
  });

  const options = (tracingOption?: boolean): LlmRotateOptions => ({
    registry: { keys: [{ keyId: 'k', provider: 'openai', secretRef: 'literal://sk-k', models: ['gpt-4o-mini'], baseUrl: fake.baseUrl }] },
    useKeys: ['k'],
    ...(tracingOption === undefined ? {} : { tracing: tracingOption }),
  });
  const engine = (o: LlmRotateOptions, deps: LlmRotateDeps = {}): Promise<LlmRotate> => LlmRotate.create(o, { logger: recordingLogger().logger, ...deps });

  it('unset: on when @opentelemetry/api is installed, through the global provider registered by the SDK (even after the engine started)', async () => {
    const lr = await engine(options());
    const tracing = memoryTracing();
    trace.setGlobalTracerProvider(tracing.provider);
    await lr.chat('gpt-4o-mini', MSG);
    expect(tracing.spans().map((s) => s.name).sort()).toEqual(['attempt openai/gpt-4o-mini', 'chat gpt-4o-mini']);
    await lr.close();
  });

  it('false: off, with a global provider registered', async () => {
    const tracing = memoryTracing();
    trace.setGlobalTracerProvider(tracing.provider);
    const lr = await engine(options(false));
    await lr.chat('gpt-4o-mini', MSG);
    expect(tracing.spans()).toHaveLength(0);
    // A reload can turn it on (and off again).
    await lr.reload(options(true));
    await lr.chat('gpt-4o-mini', MSG);
    expect(tracing.spans()).toHaveLength(2);
    await lr.reload(options(false));
    await lr.chat('gpt-4o-mini', MSG);
    expect(tracing.spans()).toHaveLength(2);
    await lr.close();
  });

  it('"tracing" must be a boolean, named in the error', async () => {
    await expect(engine({ ...options(), tracing: 'yes' as unknown as boolean })).rejects.toThrow(/tracing: must be true or false/);
  });

  it('without an SDK (no provider registered, no meter): the observer declines the call, so the engine builds nothing for it', () => {
    const observer = new TracingObserver(otel);
    expect(observer.callStarted({ source: 'chat', model: 'gpt-4o-mini', provider: undefined, requestId: '' })).toBeUndefined();
    // With a meter provider only, calls are counted but no span is recorded.
    const meter = recordingMeterProvider();
    otel.metrics.setGlobalMeterProvider(meter.provider);
    const counted = observer.callStarted({ source: 'chat', model: 'gpt-4o-mini', provider: undefined, requestId: '' });
    expect(counted).toBeDefined();
    counted?.attemptStarted({ provider: 'openai', model: 'gpt-4o-mini', keyId: 'k', attempt: 1, fallback: false })?.attemptEnded({
      timestamp: 0, requestId: '', source: 'chat', provider: 'openai', model: 'gpt-4o-mini', keyId: 'k', outcome: 'success', latencyMs: 1, attempt: 1, fallback: false,
    });
    counted?.callEnded({ outcome: 'success', attempts: 1 });
    expect(meter.adds.map((a) => a.counter)).toEqual(['llm_rotate.attempts']);
  });

  it('a span the sampler drops is not built upon: no attempt span, no error', async () => {
    const { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ sampler: new AlwaysOffSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const lr = await engine(options(), { otel: { tracerProvider: provider } });
    expect((await lr.chat('gpt-4o-mini', MSG)).keyId).toBe('k');
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    await lr.close();
  });
});

function hr(t: [number, number]): number {
  return t[0] * 1e9 + t[1];
}
