import { Logger, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { LlmRotate, LlmRotateModule, LlmRotateService, type UsageEvent } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { makeOptions, recordingLogger } from '../support/options';

const MSG = [{ role: 'user' as const, content: 'hi' }];

describe('usage events (one structured record per attempt)', () => {
  let fake: OpenAiFake;
  beforeEach(async () => {
    fake = await OpenAiFake.start();
  });
  afterEach(() => fake.close());

  it('chat, stream and acquire attempts each emit one event with the documented fields', async () => {
    fake.script('sk-test-a', 'rate_limit');
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }]), { logger: recordingLogger().logger });
    const events: UsageEvent[] = [];
    const off = lr.onUsage((e) => events.push(e));
    const r = await lr.chat('gpt-4o-mini', MSG);
    expect(events).toEqual([
      expect.objectContaining({ source: 'chat', provider: 'openai', model: 'gpt-4o-mini', keyId: 'a', outcome: 'rate_limit', status: 429, errorClass: 'ProviderHttpError' }),
      expect.objectContaining({ source: 'chat', keyId: 'b', outcome: 'success', inputTokens: 9, outputTokens: 3 }),
    ]);
    expect(events[0].requestId).toBe(events[1].requestId);
    expect(events[0].requestId).toMatch(/^[0-9a-f-]{36}$/);
    for (const e of events) expect(typeof e.timestamp).toBe('number');
    // Each event carries its attempt's own measured latency (the same figure as the result's attempts).
    expect(events.map((e) => e.latencyMs)).toEqual(r.attempts.map((a) => a.latencyMs));
    expect(events.every((e) => Number.isInteger(e.latencyMs))).toBe(true);
    for await (const _ of lr.stream('gpt-4o-mini', MSG));
    expect(events[2]).toMatchObject({ source: 'stream', keyId: 'b', outcome: 'success', inputTokens: 9, outputTokens: 3 });
    await lr.withKey('openai', {}, () => 'done');
    expect(events[3]).toMatchObject({ source: 'acquire', keyId: 'b', outcome: 'success' });
    off();
    await lr.chat('gpt-4o-mini', MSG);
    expect(events).toHaveLength(4);
    await lr.close();
  });

  it('a throwing subscriber is isolated from the call', async () => {
    const log = recordingLogger();
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }]), { logger: log.logger });
    lr.onUsage(() => {
      throw new Error('subscriber bug');
    });
    expect((await lr.chat('gpt-4o-mini', MSG)).keyId).toBe('a');
    expect(log.lines.join()).toContain('A usage listener threw: subscriber bug');
    await lr.close();
  });

  async function nestApp(extra: Parameters<typeof makeOptions>[2]): Promise<{ app: import('@nestjs/common').INestApplication; lines: string[] }> {
    const lines: string[] = [];
    const record = (level: string) => (m: unknown, ctx?: unknown) => lines.push(`${level} ${String(ctx)}: ${String(m)}`);
    const sink: LoggerService = { log: record('log'), error: record('error'), warn: record('warn'), debug: record('debug'), verbose: record('verbose') };
    const mod = await Test.createTestingModule({ imports: [LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'a' }], extra))] }).compile();
    const app = mod.createNestApplication({ logger: sink });
    app.useLogger(sink);
    Logger.overrideLogger(sink);
    await app.init();
    return { app, lines };
  }

  it('the Nest service exposes usage$ and logs nothing per call unless asked (a fresh app is quiet)', async () => {
    const { app, lines } = await nestApp({});
    const svc = app.get(LlmRotateService);
    const seen: UsageEvent[] = [];
    svc.usage$.subscribe((e) => seen.push(e));
    await svc.chat('gpt-4o-mini', MSG);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ keyId: 'a', outcome: 'success', provider: 'openai' });
    expect(lines.filter((l) => l.includes('usage {'))).toEqual([]);
    let completed = false;
    svc.usage$.subscribe({ complete: () => (completed = true) });
    await app.close();
    expect(completed).toBe(true);
  });

  it.each([
    [true, 'debug'],
    ['debug', 'debug'],
    ['verbose', 'verbose'],
    ['log', 'log'],
  ] as const)('logUsage: %s logs one line per attempt through Nest\'s Logger at %s level', async (logUsage, level) => {
    const { app, lines } = await nestApp({ logUsage });
    await app.get(LlmRotateService).chat('gpt-4o-mini', MSG);
    const usageLines = lines.filter((l) => l.includes('usage {'));
    expect(usageLines).toHaveLength(1);
    const prefix = `${level} LlmRotate: usage `;
    expect(usageLines[0].startsWith(prefix)).toBe(true);
    expect(JSON.parse(usageLines[0].slice(prefix.length))).toMatchObject({ keyId: 'a', outcome: 'success', provider: 'openai' });
    await app.close();
  });
});

describe('estimated cost and usageSummary()', () => {
  let fake: OpenAiFake;
  beforeEach(async () => {
    fake = await OpenAiFake.start();
  });
  afterEach(() => fake.close());

  it('results, stream chunks and events carry the cost; the summary counts per key, provider and model (unknown prices apart)', async () => {
    fake.script('sk-test-a', 'rate_limit');
    const keys = [{ keyId: 'a', priority: 1, models: ['gpt-4o-mini', 'my-tune'] }, { keyId: 'b', models: ['gpt-4o-mini', 'my-tune'] }];
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, keys, { pricing: { 'gpt-4o-mini': { inputPerMTok: 1000, outputPerMTok: 2000 } } }), { logger: recordingLogger().logger });
    const events: UsageEvent[] = [];
    lr.onUsage((e) => events.push(e));
    // The fake bills 9 input and 3 output tokens: 9 × 1000 / 1e6 + 3 × 2000 / 1e6 = 0.015 USD.
    const r = await lr.chat('gpt-4o-mini', MSG);
    expect(r.costUsd).toBeCloseTo(0.015, 9);
    expect(events.map((e) => e.costUsd)).toEqual([undefined, r.costUsd]);
    const chunks: Array<{ costUsd?: unknown }> = [];
    for await (const c of lr.stream('gpt-4o-mini', MSG)) chunks.push(c);
    expect(chunks.at(-1)?.costUsd).toBeCloseTo(0.015, 9);
    const unknown = await lr.chat('my-tune', MSG);
    expect(unknown.costUsd).toBe('unknown');
    const s = lr.usageSummary();
    expect(s.total).toMatchObject({ attempts: 4, successes: 3, failures: { rate_limit: 1 }, inputTokens: 27, outputTokens: 9, unpricedSuccesses: 1 });
    expect(s.total.costUsd).toBeCloseTo(0.03, 9);
    expect(s.byKey.a).toMatchObject({ provider: 'openai', attempts: 1, successes: 0, failures: { rate_limit: 1 } });
    expect(s.byKey.b).toMatchObject({ attempts: 3, successes: 3 });
    expect(s.byProvider.openai?.attempts).toBe(4);
    expect(s.byModel['my-tune']).toMatchObject({ successes: 1, costUsd: 0, unpricedSuccesses: 1 });
    lr.resetUsage();
    expect(lr.usageSummary().total.attempts).toBe(0);
    await lr.close();
  });
});
