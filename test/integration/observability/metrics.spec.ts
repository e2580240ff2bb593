import { Registry } from 'prom-client';
import { ConfigurationError, LlmRotate, LlmRotateMetrics, createLlmRotateMetrics, type LlmRotateOptions } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { collect } from '../../support/engine';
import { makeOptions, recordingLogger } from '../../support/options';
import { parsePrometheusText, samplesOf, sumOf, valueOf, type Family } from '../../support/prometheus-text';
import { RedisServer } from '../../support/redis-server';

const MSG = [{ role: 'user' as const, content: 'hi' }];
/** Canary secrets: none of them, nor any 8-character run of them, may reach the metrics text. */
const SECRETS = { a: 'sk-canary-A-9fQ2xLmZ7rT4', b: 'sk-canary-B-3vN8kWp1sY6u', c: 'sk-canary-C-5hJ0dGq2bE9i', d: 'sk-canary-D-1aK7mXc4nR8o' };
/** gpt-4o-mini at $1 / $2 per million tokens: the fake answers 9 input and 3 output tokens, so $0.000015 a call. */
const PRICING = { 'gpt-4o-mini': { inputPerMTok: 1, outputPerMTok: 2 } };

async function scrape(metrics: LlmRotateMetrics): Promise<Map<string, Family>> {
  return parsePrometheusText(await metrics.metrics());
}

function expectNoSecret(text: string): void {
  expect(text).not.toContain('literal://');
  expect(text).not.toContain('secretRef');
  for (const s of Object.values(SECRETS)) for (let i = 0; i + 8 <= s.length; i++) expect(text).not.toContain(s.slice(i, i + 8));
}

describe('Prometheus metrics: the text parses and its counts match what happened', () => {
  let fake: OpenAiFake;
  let lr: LlmRotate;
  let metrics: LlmRotateMetrics;
  let registry: Registry;

  beforeAll(async () => {
    fake = await OpenAiFake.start();
    fake.script(SECRETS.a, 'rate_limit');
    fake.script(SECRETS.c, 'server_error');
    const options = makeOptions(
      fake.baseUrl,
      [
        { keyId: 'a', secret: SECRETS.a, priority: 10 },
        { keyId: 'b', secret: SECRETS.b, models: ['gpt-4o-mini'] },
        { keyId: 'c', secret: SECRETS.c, models: ['gpt-4o'] },
        { keyId: 'd', secret: SECRETS.d, models: ['house-model'] },
      ],
      { fallbacks: { 'gpt-4o': ['gpt-4o-mini'] }, pricing: PRICING, tracing: false },
    );
    lr = await LlmRotate.create(options, { logger: recordingLogger().logger });
    registry = new Registry();
    metrics = createLlmRotateMetrics(lr, { registry });
  });
  afterAll(async () => {
    metrics.close();
    await lr.close();
    await fake.close();
  });

  it('before any call: every metric is declared, the pool gauges are there, no counter has a series yet', async () => {
    const f = await scrape(metrics);
    for (const name of ['attempts_total', 'calls_total', 'tokens_total', 'cost_usd_total', 'rotations_total', 'fallbacks_total', 'attempt_duration_seconds', 'keys', 'key_state', 'available_keys', 'leases_in_use', 'store_up']) {
      expect(f.has(`llm_rotate_${name}`)).toBe(true);
    }
    expect(f.get('llm_rotate_attempts_total')?.type).toBe('counter');
    expect(f.get('llm_rotate_attempt_duration_seconds')?.type).toBe('histogram');
    expect(f.get('llm_rotate_keys')?.type).toBe('gauge');
    expect(samplesOf(f, 'llm_rotate_attempts_total')).toHaveLength(0);
    expect(valueOf(f, 'llm_rotate_keys', { pool: 'default', provider: 'openai', state: 'ACTIVE' })).toBe(4);
    expect(valueOf(f, 'llm_rotate_keys', { pool: 'default', provider: 'openai', state: 'COOLDOWN' })).toBe(0);
    expect(valueOf(f, 'llm_rotate_available_keys', { provider: 'openai' })).toBe(4);
    expect(valueOf(f, 'llm_rotate_store_up', { pool: 'default', backend: 'memory' })).toBe(1);
  });

  it('after chats (one 429 rotation), a fallback, a stream, an unpriced model, a failed call and a lent key', async () => {
    // 1. Three chats: a answers 429 (rotation to b), then b twice (a is cooling).
    for (let i = 0; i < 3; i++) expect((await lr.chat('gpt-4o-mini', MSG)).keyId).toBe('b');
    // 2. gpt-4o: c fails (500), the fallback model gpt-4o-mini is served by b.
    expect(await lr.chat('gpt-4o', MSG)).toMatchObject({ keyId: 'b', model: 'gpt-4o-mini' });
    // 3. A stream served by b.
    const chunks = await collect(lr.stream('gpt-4o-mini', MSG));
    expect(chunks.at(-1)?.keyId).toBe('b');
    // 4. A model without a price, served by d.
    expect((await lr.chat('house-model', MSG)).costUsd).toBe('unknown');
    // 5. gpt-4o without its fallback: c fails again, nothing else serves it.
    await expect(lr.chat('gpt-4o', MSG, { fallback: false })).rejects.toThrow(/All keys/);
    // 6. A lent key: in use while held, then reported with its tokens.
    const ctx = await lr.acquire('openai', { model: 'gpt-4o-mini' });
    expect(ctx.keyId).toBe('b');
    const held = await scrape(metrics);
    expect(valueOf(held, 'llm_rotate_leases_in_use', { pool: 'default', provider: 'openai' })).toBe(1);
    await ctx.reportSuccess({ inputTokens: 100, outputTokens: 50 });
    await ctx.release();

    const text = await metrics.metrics();
    expectNoSecret(text);
    const f = parsePrometheusText(text);
    const b = { pool: 'default', provider: 'openai', model: 'gpt-4o-mini', key_id: 'b' };
    // Attempts by key and outcome.
    expect(valueOf(f, 'llm_rotate_attempts_total', { key_id: 'a', outcome: 'rate_limit' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_attempts_total', { ...b, outcome: 'success' })).toBe(6);
    expect(valueOf(f, 'llm_rotate_attempts_total', { key_id: 'c', model: 'gpt-4o', outcome: 'transient' })).toBe(2);
    expect(valueOf(f, 'llm_rotate_attempts_total', { key_id: 'd', model: 'house-model', outcome: 'success' })).toBe(1);
    expect(sumOf(f, 'llm_rotate_attempts_total')).toBe(1 + 6 + 2 + 1);
    // Tokens of b: five calls of 9 + 3 through the fake, and the lent key's 100 + 50.
    expect(valueOf(f, 'llm_rotate_tokens_total', { ...b, type: 'input' })).toBe(5 * 9 + 100);
    expect(valueOf(f, 'llm_rotate_tokens_total', { ...b, type: 'output' })).toBe(5 * 3 + 50);
    // Cost: priced successes only; the unpriced model is counted apart, never as 0 USD.
    expect(valueOf(f, 'llm_rotate_cost_usd_total', b)).toBeCloseTo(5 * 15e-6 + (100 * 1 + 50 * 2) / 1e6, 12);
    expect(valueOf(f, 'llm_rotate_cost_usd_total', { key_id: 'd' })).toBeUndefined();
    expect(valueOf(f, 'llm_rotate_unpriced_successes_total', { model: 'house-model' })).toBe(1);
    // Rotations: the 429 → b move, and c → b in the fallback call. Fallbacks: that one attempt of gpt-4o-mini.
    expect(valueOf(f, 'llm_rotate_rotations_total', { pool: 'default', provider: 'openai', model: 'gpt-4o-mini' })).toBe(2);
    expect(sumOf(f, 'llm_rotate_rotations_total')).toBe(2);
    expect(valueOf(f, 'llm_rotate_fallbacks_total', { model: 'gpt-4o-mini' })).toBe(1);
    expect(sumOf(f, 'llm_rotate_fallbacks_total')).toBe(1);
    // Calls by source and how they ended.
    expect(valueOf(f, 'llm_rotate_calls_total', { source: 'chat', outcome: 'success' })).toBe(5);
    expect(valueOf(f, 'llm_rotate_calls_total', { source: 'chat', outcome: 'exhausted' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_calls_total', { source: 'stream', outcome: 'success' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_calls_total', { source: 'acquire', outcome: 'success' })).toBe(1);
    // The latency histogram: one observation per attempt, buckets consistent (checked by the parser).
    expect(valueOf(f, 'llm_rotate_attempt_duration_seconds_count', { pool: 'default', provider: 'openai', model: 'gpt-4o-mini', outcome: 'success' })).toBe(6);
    expect(valueOf(f, 'llm_rotate_attempt_duration_seconds_count', { model: 'gpt-4o-mini', outcome: 'rate_limit' })).toBe(1);
    expect(sumOf(f, 'llm_rotate_attempt_duration_seconds_count')).toBe(10);
    const les = samplesOf(f, 'llm_rotate_attempt_duration_seconds_bucket', { outcome: 'rate_limit' }).map((s) => s.labels.le);
    expect(les).toEqual(['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '20', '30', '60', '120', '+Inf']);
    // Pool gauges: a cools, the others are ACTIVE; nothing is leased any more.
    expect(valueOf(f, 'llm_rotate_keys', { provider: 'openai', state: 'COOLDOWN' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_keys', { provider: 'openai', state: 'ACTIVE' })).toBe(3);
    expect(sumOf(f, 'llm_rotate_keys', { provider: 'openai' })).toBe(4);
    expect(valueOf(f, 'llm_rotate_key_state', { key_id: 'a', state: 'COOLDOWN' })).toBe(1);
    expect(samplesOf(f, 'llm_rotate_key_state', { key_id: 'a' })).toHaveLength(1);
    expect(valueOf(f, 'llm_rotate_available_keys', { provider: 'openai' })).toBe(3);
    expect(valueOf(f, 'llm_rotate_leases_in_use', { provider: 'openai' })).toBe(0);
  });

  it('the histogram counts each attempt in the right bucket (sum of seconds matches the usage events)', async () => {
    const events: number[] = [];
    const off = lr.onUsage((e) => events.push(e.latencyMs));
    const before = await scrape(metrics);
    const sum0 = valueOf(before, 'llm_rotate_attempt_duration_seconds_sum', { model: 'gpt-4o-mini', outcome: 'success' }) ?? 0;
    await lr.chat('gpt-4o-mini', MSG);
    off();
    const after = await scrape(metrics);
    expect((valueOf(after, 'llm_rotate_attempt_duration_seconds_sum', { model: 'gpt-4o-mini', outcome: 'success' }) ?? 0) - sum0).toBeCloseTo(events[0] / 1000, 6);
    const bucket = (le: string, f: Map<string, Family>): number => valueOf(f, 'llm_rotate_attempt_duration_seconds_bucket', { model: 'gpt-4o-mini', outcome: 'success', le }) ?? 0;
    // A local answer takes well under 120 s: the +Inf and 120 s buckets both grew by one.
    expect(bucket('120', after) - bucket('120', before)).toBe(1);
    expect(bucket('+Inf', after) - bucket('+Inf', before)).toBe(1);
  });
});

describe('the strict exposition parser refuses malformed text', () => {
  it.each([
    ['no final newline', '# TYPE x counter\nx 1'],
    ['a sample before its TYPE is fine but a TYPE after samples is not', 'x 1\n# TYPE x counter\n'],
    ['a family split in two', '# TYPE x gauge\nx{a="1"} 1\n# TYPE y gauge\ny 1\nx{a="2"} 1\n'],
    ['a duplicate series', '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n'],
    ['a bad escape', '# TYPE x gauge\nx{a="\\t"} 1\n'],
    ['a negative counter', '# TYPE x counter\nx -1\n'],
    ['non-cumulative buckets', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['+Inf bucket not the count', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n'],
    ['a bad number', '# TYPE x gauge\nx one\n'],
  ])('%s', (_what, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });

  it('accepts well-formed text', () => {
    const f = parsePrometheusText('# HELP h a \\\\ help\n# TYPE h histogram\nh_bucket{le="1",k="a\\"b"} 1\nh_bucket{le="+Inf",k="a\\"b"} 2\nh_sum{k="a\\"b"} 3.5\nh_count{k="a\\"b"} 2\n');
    expect(f.get('h')?.help).toBe('a \\ help');
    expect(valueOf(f, 'h_count', { k: 'a"b' })).toBe(2);
  });
});

describe('several engines, registries and prefixes', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await OpenAiFake.start();
  });
  afterAll(() => fake.close());

  async function engine(keyId: string, extra: Partial<LlmRotateOptions> = {}): Promise<LlmRotate> {
    return LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId }], { tracing: false, ...extra }), { logger: recordingLogger().logger });
  }

  it('two pools on one registry: each series carries its pool; a pool name used twice is refused, naming it', async () => {
    const registry = new Registry();
    const [cheap, smart] = [await engine('cheap-1'), await engine('smart-1')];
    const metrics = new LlmRotateMetrics({ registry });
    metrics.attach(cheap, { pool: 'cheap' });
    metrics.attach(smart, { pool: 'smart' });
    await cheap.chat('gpt-4o-mini', MSG);
    await cheap.chat('gpt-4o-mini', MSG);
    await smart.chat('gpt-4o-mini', MSG);
    const f = await scrape(metrics);
    expect(valueOf(f, 'llm_rotate_attempts_total', { pool: 'cheap', key_id: 'cheap-1', outcome: 'success' })).toBe(2);
    expect(valueOf(f, 'llm_rotate_attempts_total', { pool: 'smart', key_id: 'smart-1', outcome: 'success' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_keys', { pool: 'cheap', provider: 'openai', state: 'ACTIVE' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_keys', { pool: 'smart', provider: 'openai', state: 'ACTIVE' })).toBe(1);
    // A second LlmRotateMetrics on the same registry shares the metrics, and the pool names.
    const other = new LlmRotateMetrics({ registry });
    const third = await engine('x');
    expect(() => other.attach(third, { pool: 'cheap' })).toThrow(ConfigurationError);
    expect(() => other.attach(third, { pool: 'cheap' })).toThrow(/metrics\.pool: a pool named "cheap" is already attached/);
    other.attach(third, { pool: 'third' });
    expect(valueOf(await scrape(other), 'llm_rotate_keys', { pool: 'third', state: 'ACTIVE' })).toBe(1);
    // A detached pool leaves the gauges; counting stops.
    expect(metrics.detach(smart)).toBe(true);
    await smart.chat('gpt-4o-mini', MSG);
    const g = await scrape(metrics);
    expect(samplesOf(g, 'llm_rotate_keys', { pool: 'smart' })).toHaveLength(0);
    expect(valueOf(g, 'llm_rotate_attempts_total', { pool: 'smart', outcome: 'success' })).toBe(1);
    // The metrics leave the registry with the last user only.
    metrics.close();
    expect(await registry.metrics()).toContain('llm_rotate_attempts_total');
    other.close();
    expect(await registry.metrics()).not.toContain('llm_rotate_');
    // … and can be created again.
    const again = createLlmRotateMetrics(cheap, { registry, prefix: 'pool_' });
    expect(valueOf(await scrape(again), 'pool_keys', { pool: 'default', state: 'ACTIVE' })).toBe(1);
    again.close();
    await Promise.all([cheap.close(), smart.close(), third.close()]);
  });

  it('bad options are refused with the field named; the default registry is prom-client’s global one', async () => {
    expect(() => new LlmRotateMetrics({ prefix: 'bad prefix' })).toThrow(/metrics\.prefix: "bad prefix" is not a valid/);
    expect(() => new LlmRotateMetrics({ latencyBuckets: [1, 0.5] })).toThrow(/metrics\.latencyBuckets: must be a non-empty list of increasing positive numbers/);
    expect(() => new LlmRotateMetrics({ registry: {} as unknown as Registry })).toThrow(/metrics\.registry: must be a prom-client Registry/);
    const e = await engine('g');
    const metrics = new LlmRotateMetrics();
    expect(() => metrics.attach(e, { pool: '' })).toThrow(/metrics\.pool: must be a non-empty string/);
    metrics.attach(e);
    const { register } = await import('prom-client');
    expect(metrics.registry).toBe(register);
    expect(metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await register.metrics()).toContain('llm_rotate_keys{pool="default",provider="openai",state="ACTIVE"} 1');
    metrics.close();
    expect(await register.metrics()).not.toContain('llm_rotate_');
    await e.close();
  });

  it('a pool whose snapshot fails is left out of the gauges; the scrape answers and the other pools are there', async () => {
    const [good, bad] = [await engine('ok-1'), await engine('bad-1')];
    const metrics = new LlmRotateMetrics({ registry: new Registry() });
    metrics.attach(good, { pool: 'good' });
    metrics.attach({ addObserver: (o) => bad.addObserver(o), snapshot: () => Promise.reject(new Error('store gone')) }, { pool: 'bad' });
    await bad.chat('gpt-4o-mini', MSG);
    const f = await scrape(metrics);
    expect(samplesOf(f, 'llm_rotate_keys', { pool: 'bad' })).toHaveLength(0);
    expect(valueOf(f, 'llm_rotate_keys', { pool: 'good', state: 'ACTIVE' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_attempts_total', { pool: 'bad', outcome: 'success' })).toBe(1);
    metrics.close();
    await Promise.all([good.close(), bad.close()]);
  });
});

describe('with the Redis store, the pool gauges come from the state every worker shares', () => {
  let redis: RedisServer;
  let fake: OpenAiFake;
  let workerA: LlmRotate;
  let workerB: LlmRotate;
  let metricsA: LlmRotateMetrics;
  let metricsB: LlmRotateMetrics;

  beforeAll(async () => {
    [redis, fake] = await Promise.all([RedisServer.start(), OpenAiFake.start()]);
    fake.script(SECRETS.a, 'rate_limit');
    const options = makeOptions(fake.baseUrl, [{ keyId: 'a', secret: SECRETS.a, priority: 10 }, { keyId: 'b', secret: SECRETS.b }], {
      stateStore: { backend: 'redis', redisUrl: redis.url, redisNamespace: 'metrics-test' },
      tracing: false,
    });
    workerA = await LlmRotate.create(options, { logger: recordingLogger().logger });
    workerB = await LlmRotate.create(options, { logger: recordingLogger().logger });
    // Two workers, two registries (as two processes would have).
    metricsA = createLlmRotateMetrics(workerA, { registry: new Registry() });
    metricsB = createLlmRotateMetrics(workerB, { registry: new Registry() });
  });
  afterAll(async () => {
    metricsA.close();
    metricsB.close();
    await Promise.all([workerA.close(), workerB.close()]);
    await Promise.all([redis.close(), fake.close()]);
  });

  it("worker B's gauges show the cooldown and the lease worker A caused; its counters show only its own calls", async () => {
    expect((await workerA.chat('gpt-4o-mini', MSG)).keyId).toBe('b');
    const ctx = await workerA.acquire('openai');
    const f = await scrape(metricsB);
    expect(valueOf(f, 'llm_rotate_keys', { provider: 'openai', state: 'COOLDOWN' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_key_state', { key_id: 'a', state: 'COOLDOWN' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_leases_in_use', { provider: 'openai' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_store_up', { backend: 'redis' })).toBe(1);
    expect(samplesOf(f, 'llm_rotate_attempts_total')).toHaveLength(0);
    await ctx.release();
    // A release travels behind the caller (one round trip on the caller's path: the lease); B sees it one round trip later.
    let inUse: number | undefined = 1;
    for (const end = Date.now() + 5000; inUse !== 0 && Date.now() < end; ) {
      inUse = valueOf(await scrape(metricsB), 'llm_rotate_leases_in_use', { provider: 'openai' });
      if (inUse !== 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(inUse).toBe(0);
    const a = await scrape(metricsA);
    expect(valueOf(a, 'llm_rotate_attempts_total', { key_id: 'a', outcome: 'rate_limit' })).toBe(1);
    expect(valueOf(a, 'llm_rotate_rotations_total', { model: 'gpt-4o-mini' })).toBe(1);
    expectNoSecret(await metricsB.metrics());
  });

  it('store_up turns 0 while Redis is unreachable (the worker serves on local state), and the scrape still answers', async () => {
    await redis.kill();
    const deadline = Date.now() + 15_000;
    let up: number | undefined = 1;
    while (up !== 0 && Date.now() < deadline) {
      await workerB.chat('gpt-4o-mini', MSG).catch(() => undefined);
      up = valueOf(await scrape(metricsB), 'llm_rotate_store_up', { backend: 'redis' });
      if (up !== 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(up).toBe(0);
    await redis.start();
  });
});
