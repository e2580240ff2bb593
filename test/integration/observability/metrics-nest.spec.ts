import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import request from 'supertest';
import { getLlmRotateToken, LlmRotateMetrics, LlmRotateMetricsModule, LlmRotateModule, LlmRotateService } from '../../../lib';
import { AppModule } from '../../../sample/app.module';
import { DEMO_KEYS } from '../../../sample/demo/demo-upstream';
import { OpenAiFake } from '../../fakes/openai-fake';
import { setSampleEnv } from '../../support/env';
import { makeOptions } from '../../support/options';
import { parsePrometheusText, samplesOf, valueOf } from '../../support/prometheus-text';

const HI = [{ role: 'user' as const, content: 'hi' }];
/** The exposition format's media type and parameters (Express may reorder the parameters: same meaning). */
function expectPrometheusText(contentType: string | undefined): void {
  const [type, ...params] = (contentType ?? '').split(';').map((p) => p.trim());
  expect(type).toBe('text/plain');
  expect(params.sort()).toEqual(['charset=utf-8', 'version=0.0.4']);
}

let fake: OpenAiFake;
beforeAll(async () => {
  Logger.overrideLogger(false);
  fake = await OpenAiFake.start();
});
afterAll(() => fake.close());

async function app(imports: unknown[]): Promise<INestApplication> {
  const m = await Test.createTestingModule({ imports: imports as never[] }).compile();
  const a = m.createNestApplication({ logger: false });
  await a.init();
  return a;
}

describe('LlmRotateMetricsModule', () => {
  it('serves GET /metrics (Prometheus text) for two pools, each under its pool label; detaches them on shutdown', async () => {
    fake.script('sk-a', 'rate_limit');
    const registry = new Registry();
    const a = await app([
      LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'a', secret: 'sk-a', priority: 1 }, { keyId: 'b', secret: 'sk-b' }], { tracing: false })),
      LlmRotateModule.forRoot({ name: 'cheap', ...makeOptions(fake.baseUrl, [{ keyId: 'c1', secret: 'sk-c1' }], { tracing: false }) }),
      LlmRotateMetricsModule.forRoot({ pools: ['default', 'cheap'], registry }),
    ]);
    await a.get(LlmRotateService).chat('gpt-4o-mini', HI);
    await a.get<LlmRotateService>(getLlmRotateToken('cheap')).chat('gpt-4o-mini', HI);
    const res = await request(a.getHttpServer()).get('/metrics').expect(200);
    expectPrometheusText(res.headers['content-type']);
    expect(res.headers['cache-control']).toBe('no-store');
    const f = parsePrometheusText(res.text);
    expect(valueOf(f, 'llm_rotate_attempts_total', { pool: 'default', key_id: 'a', outcome: 'rate_limit' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_rotations_total', { pool: 'default' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_attempts_total', { pool: 'cheap', key_id: 'c1', outcome: 'success' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_key_state', { pool: 'default', key_id: 'a', state: 'COOLDOWN' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_keys', { pool: 'cheap', state: 'ACTIVE' })).toBe(1);
    expect(res.text).not.toMatch(/sk-(a|b|c1)\b/);
    const metrics = a.get(LlmRotateMetrics);
    expect(metrics.pools).toEqual(['default', 'cheap']);
    await a.close();
    expect(metrics.pools).toEqual([]);
    expect(await registry.metrics()).not.toContain('llm_rotate_');
  });

  it('path: false serves no route; LlmRotateMetrics is injectable (isGlobal) to serve the text elsewhere', async () => {
    const registry = new Registry();
    const a = await app([LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'k' }], { tracing: false })), LlmRotateMetricsModule.forRoot({ path: false, registry, isGlobal: true })]);
    await request(a.getHttpServer()).get('/metrics').expect(404);
    const f = parsePrometheusText(await a.get(LlmRotateMetrics).metrics());
    expect(valueOf(f, 'llm_rotate_keys', { pool: 'default', state: 'ACTIVE' })).toBe(1);
    await a.close();
  });

  it('another path, and a prefix', async () => {
    const registry = new Registry();
    const a = await app([LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'k' }], { tracing: false })), LlmRotateMetricsModule.forRoot({ path: 'internal/prometheus', prefix: 'llm_', registry })]);
    const res = await request(a.getHttpServer()).get('/internal/prometheus').expect(200);
    expect(samplesOf(parsePrometheusText(res.text), 'llm_keys')).toHaveLength(5);
    await a.close();
  });

  it('a pool that is not registered, or bad options, stop the start with the problem named', async () => {
    await expect(app([LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'k' }], { tracing: false })), LlmRotateMetricsModule.forRoot({ pools: ['cheap'], registry: new Registry() })])).rejects.toThrow(
      /LlmRotateMetricsModule: no pool "cheap" in this application \(register it with LlmRotateModule\.forRoot\(\{ name: 'cheap'/,
    );
    expect(() => LlmRotateMetricsModule.forRoot({ pools: [] })).toThrow(/LlmRotateMetricsModule\.pools: must list at least one pool name/);
    expect(() => LlmRotateMetricsModule.forRoot({ pools: ['a', 'a'] })).toThrow(/LlmRotateMetricsModule\.pools: a pool is listed twice/);
  });
});

describe('the sample serves GET /metrics', () => {
  let restoreEnv: () => void;
  let sample: INestApplication;
  beforeAll(async () => {
    restoreEnv = setSampleEnv();
    sample = await app([AppModule]);
  });
  afterAll(async () => {
    await sample?.close();
    restoreEnv();
  });

  it("after a POST /chat that rotated past the demo's rate-limited key: the 429, the rotation, the key in COOLDOWN; no secret", async () => {
    await request(sample.getHttpServer()).post('/chat').send({ messages: [{ role: 'user', content: 'hi' }] }).expect(200);
    const res = await request(sample.getHttpServer()).get('/metrics').expect(200);
    expectPrometheusText(res.headers['content-type']);
    const f = parsePrometheusText(res.text);
    expect(valueOf(f, 'llm_rotate_attempts_total', { key_id: DEMO_KEYS.limited.keyId, outcome: 'rate_limit' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_attempts_total', { key_id: DEMO_KEYS.ok.keyId, outcome: 'success' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_rotations_total', { pool: 'default', provider: 'openai' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_key_state', { key_id: DEMO_KEYS.limited.keyId, state: 'COOLDOWN' })).toBe(1);
    expect(valueOf(f, 'llm_rotate_store_up', { backend: 'memory' })).toBe(1);
    for (const s of [DEMO_KEYS.limited.value, DEMO_KEYS.ok.value, DEMO_KEYS.limited.env, 'env://']) expect(res.text).not.toContain(s);
  });
});
