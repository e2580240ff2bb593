import { Inject, Injectable, Module, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { firstValueFrom } from 'rxjs';
import {
  ConfigurationError,
  LLM_ROTATE_ENGINE,
  LlmRotate,
  LlmRotateDashboardModule,
  LlmRotateDashboardService,
  LlmRotateModule,
  type DashboardEventsView,
  type DashboardKeyView,
  type DashboardStatusView,
  type LlmRotateDashboardOptions,
  type LlmRotateOptions,
  type UsageSummary,
} from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { eventually, getJson, quietNest, startApp, type RunningApp } from '../support/dashboard-app';
import { DashboardStream, keyIn } from '../support/dashboard-stream';
import { makeOptions } from '../support/options';

const HI = [{ role: 'user' as const, content: 'hi' }];

let fake: OpenAiFake;
beforeAll(async () => {
  quietNest();
  fake = await OpenAiFake.start({ reply: 'four words of answer', rateLimitHeaders: { 'retry-after': '30' } });
});
afterAll(() => fake.close());

const apps: RunningApp[] = [];
const streams: DashboardStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await Promise.all(apps.splice(0).map((a) => a.close()));
  fake.reset();
});

/** k1 is tried first (priority), k2 next, k3 last. */
function poolOptions(extra: Partial<LlmRotateOptions> = {}): LlmRotateOptions {
  return makeOptions(
    fake.baseUrl,
    [
      { keyId: 'k1', priority: 3, secret: 'sk-dash-k1' },
      { keyId: 'k2', priority: 2, secret: 'sk-dash-k2' },
      { keyId: 'k3', priority: 1, secret: 'sk-dash-k3' },
    ],
    { strategy: 'priority', ...extra },
  );
}

async function mount(dashboard: LlmRotateDashboardOptions = { path: 'dash' }, options: LlmRotateOptions = poolOptions()): Promise<RunningApp & { engine: LlmRotate; base: string }> {
  const a = await startApp([LlmRotateModule.forRoot(options), LlmRotateDashboardModule.register(dashboard)]);
  apps.push(a);
  return { ...a, engine: a.app.get<LlmRotate>(LLM_ROTATE_ENGINE), base: `${a.url}/${dashboard.path ?? 'llm-rotate'}` };
}

const keysOf = async (base: string): Promise<DashboardKeyView[]> => (await getJson<{ keys: DashboardKeyView[] }>(`${base}/keys`)).keys;
const post = (url: string, headers: Record<string, string> = {}): Promise<Response> => fetch(url, { method: 'POST', headers });

/** White-box: how many usage listeners the engine has (the Nest service is one). */
const usageListeners = (engine: LlmRotate): number => (engine as unknown as { usage: { listeners: unknown[] } }).usage.listeners.length;

@Injectable()
class AllowGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Injectable()
class RefuseGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

describe('LlmRotateDashboardModule: mounting', () => {
  it('nothing of it exists unless mounted: no route, no usage listener', async () => {
    const a = await startApp([LlmRotateModule.forRoot(poolOptions())]);
    apps.push(a);
    for (const path of ['/llm-rotate', '/llm-rotate/keys', '/llm-rotate/stream', '/dash/status']) expect((await fetch(a.url + path)).status).toBe(404);
    // LlmRotateService's usage$ only.
    expect(usageListeners(a.app.get(LLM_ROTATE_ENGINE))).toBe(1);
  });

  it('mounts at llm-rotate by default; the buffer (a usage listener) lives from module init to module destroy', async () => {
    const a = await mount({});
    expect(a.base).toMatch(/\/llm-rotate$/);
    expect((await fetch(a.base)).status).toBe(200);
    expect((await getJson<DashboardStatusView>(`${a.base}/status`)).strategy).toBe('priority');
    expect(usageListeners(a.engine)).toBe(2);
    await a.app.get(LlmRotateDashboardService).onModuleDestroy();
    expect(usageListeners(a.engine)).toBe(1);
  });

  it('serves the page: HTML with inline CSS and JS only (hashes in its CSP), no external URL', async () => {
    const a = await mount({ path: '/ops/llm/' });
    expect(a.base).toMatch(/\/ops\/llm\/$/);
    const res = await fetch(`${a.url}/ops/llm`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/i);
    const csp = res.headers.get('content-security-policy') ?? '';
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const hash = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    expect(csp).toContain(`script-src ${hash(script)}`);
    expect(csp).toContain(`style-src ${hash(style)}`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    // The page finds its JSON and stream relative to its own URL.
    expect(script).toContain("new EventSource(base + '/stream')");
  });

  it('refuses bad options, naming each problem', () => {
    const bad = (o: unknown): string => {
      try {
        LlmRotateDashboardModule.register(o as LlmRotateDashboardOptions);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigurationError);
        return (e as ConfigurationError).problems.join('\n');
      }
      throw new Error('accepted');
    };
    expect(bad({ path: 'a b' })).toMatch(/^path: must be one or more segments/);
    expect(bad({ path: ':id' })).toMatch(/^path:/);
    expect(bad({ path: 7 })).toMatch(/^path: must be a string/);
    expect(bad({ pool: '' })).toMatch(/^pool:/);
    expect(bad({ recentEvents: -1 })).toMatch(/^recentEvents: must be an integer from 0 to 100000 \(got -1\)/);
    expect(bad({ recentEvents: 1.5 })).toMatch(/^recentEvents:/);
    expect(bad({ refreshMs: 10 })).toMatch(/^refreshMs: must be an integer from 250/);
    expect(bad({ paht: 'x' })).toMatch(/^paht: unknown option/);
    expect(bad({ actions: { enabled: true } })).toMatch(/^actions\.guard: required when actions are enabled/);
    expect(bad({ actions: { enabled: 'yes', guard: AllowGuard } })).toMatch(/^actions\.enabled: must be true or false/);
    expect(bad({ actions: { enabled: true, guard: 'AllowGuard' } })).toMatch(/^actions\.guard: must be a guard class/);
    // Every problem at once.
    expect(bad({ path: 'a b', recentEvents: -1, refreshMs: 1 }).split('\n')).toHaveLength(3);
  });

  it('a pool the app does not have stops the start with the pool named', async () => {
    await expect(startApp([LlmRotateModule.forRoot(poolOptions()), LlmRotateDashboardModule.register({ pool: 'nope' })])).rejects.toThrow(
      /pool: the app has no pool named "nope"/,
    );
  });
});

describe('LlmRotateDashboardModule: JSON endpoints', () => {
  it('status: strategy, store, providers with available/keys, keys by state, actions off', async () => {
    const a = await mount();
    fake.script('sk-dash-k1', 'rate_limit');
    await a.engine.chat('gpt-4o-mini', HI);
    const s = await getJson<DashboardStatusView>(`${a.base}/status`);
    expect(s).toMatchObject({
      pool: null,
      strategy: 'priority',
      store: { backend: 'memory', status: 'up' },
      providers: [{ provider: 'openai', keys: 3, available: 2 }],
      keys: { total: 3, available: 2, byState: { ACTIVE: 2, COOLDOWN: 1, QUARANTINE: 0, PROBATION: 0, DISABLED: 0 } },
      actions: false,
      recentEvents: { capacity: 200, size: 2, total: 2 },
    });
    expect(Math.abs(s.now - Date.now())).toBeLessThan(60_000);
  });

  it('keys: state, until and time left, failures, leases, recent success rate, tokens and cost per key', async () => {
    const a = await mount();
    fake.script('sk-dash-k1', 'rate_limit');
    await a.engine.chat('gpt-4o-mini', HI); // k1: 429 (cooling 30 s), k2 answers
    await a.engine.chat('gpt-4o-mini', HI); // k2 again
    const ctx = await a.engine.acquire('openai'); // k2 lent: a lease in use
    try {
      const keys = await keysOf(a.base);
      expect(keys.map((k) => k.keyId)).toEqual(['k1', 'k2', 'k3']);
      const [k1, k2, k3] = keys;
      expect(k1).toMatchObject({ provider: 'openai', models: ['gpt-4o-mini'], state: 'COOLDOWN', available: false, leasesInUse: 0 });
      expect(Date.parse(k1.until as string)).toBeGreaterThan(Date.now());
      expect(k1.msLeft).toBeGreaterThan(20_000);
      expect(k1.msLeft).toBeLessThanOrEqual(30_000);
      expect(k1.recent).toMatchObject({ attempts: 1, successes: 0, successRate: 0, lastOutcome: 'rate_limit' });
      expect(k1.usage).toMatchObject({ attempts: 1, successes: 0, failures: { rate_limit: 1 }, inputTokens: 0, costUsd: 0 });
      expect(k2).toMatchObject({ state: 'ACTIVE', until: null, msLeft: null, available: true, leasesInUse: 1, consecutiveFailures: 0 });
      expect(k2.recent).toMatchObject({ attempts: 2, successes: 2, successRate: 1, lastOutcome: 'success' });
      expect(k2.usage).toMatchObject({ attempts: 2, successes: 2, inputTokens: 18, outputTokens: 8, unpricedSuccesses: 0 });
      // gpt-4o-mini is priced: 2 × (9 × 0.15 + 4 × 0.6) / 1e6 USD.
      expect(k2.usage.costUsd).toBeCloseTo((2 * (9 * 0.15 + 4 * 0.6)) / 1e6, 12);
      expect(k3.recent).toEqual({ attempts: 0, successes: 0, successRate: null });
      expect(k3.usage.attempts).toBe(0);
    } finally {
      await ctx.release();
    }
  });

  it('usage: the engine usage summary as it is', async () => {
    const a = await mount();
    await a.engine.chat('gpt-4o-mini', HI);
    const usage = await getJson<UsageSummary>(`${a.base}/usage`);
    expect(usage).toEqual(JSON.parse(JSON.stringify(a.engine.usageSummary())));
    expect(usage.byKey.k1).toMatchObject({ provider: 'openai', attempts: 1, successes: 1 });
  });

  it('events: oldest first with sequence numbers, ?limit= the newest, a bad limit is a 400 naming it', async () => {
    const a = await mount();
    fake.script('sk-dash-k1', 'rate_limit');
    await a.engine.chat('gpt-4o-mini', HI);
    const all = await getJson<DashboardEventsView>(`${a.base}/events`);
    expect(all.capacity).toBe(200);
    expect(all.total).toBe(2);
    expect(all.events.map((e) => [e.seq, e.keyId, e.outcome, e.status, e.attempt])).toEqual([
      [1, 'k1', 'rate_limit', 429, 1],
      [2, 'k2', 'success', undefined, 2],
    ]);
    expect(all.events[1]).toMatchObject({ source: 'chat', provider: 'openai', model: 'gpt-4o-mini', inputTokens: 9, outputTokens: 4, fallback: false });
    expect(typeof all.events[1].costUsd).toBe('number');
    expect(all.events[0].requestId).toBe(all.events[1].requestId);
    expect((await getJson<DashboardEventsView>(`${a.base}/events?limit=1`)).events.map((e) => e.seq)).toEqual([2]);
    const res = await fetch(`${a.base}/events?limit=abc`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/^limit: must be a positive integer/);
  });

  it('the recent-events buffer is a ring: it keeps the last N events, whatever the traffic', async () => {
    const a = await mount({ path: 'dash', recentEvents: 3 });
    for (let i = 0; i < 7; i++) await a.engine.chat('gpt-4o-mini', HI);
    const ev = await getJson<DashboardEventsView>(`${a.base}/events`);
    expect(ev).toMatchObject({ capacity: 3, total: 7 });
    expect(ev.events.map((e) => e.seq)).toEqual([5, 6, 7]);
    const ring = (a.app.get(LlmRotateDashboardService) as unknown as { buffer: { ring: unknown[] } }).buffer.ring;
    expect(ring).toHaveLength(3);
    // recentEvents: 0 keeps none; the success rate is then unknown.
    const b = await mount({ path: 'none', recentEvents: 0 });
    await b.engine.chat('gpt-4o-mini', HI);
    expect(await getJson<DashboardEventsView>(`${b.base}/events`)).toEqual({ capacity: 0, total: 1, events: [] });
    expect((await keysOf(b.base))[0].recent.successRate).toBeNull();
  });
});

describe('LlmRotateDashboardModule: live stream (SSE)', () => {
  it('sends the state at once, then a 429 turns the key to COOLDOWN live; it stops when the client leaves', async () => {
    const a = await mount({ path: 'dash', refreshMs: 60_000 });
    const service = a.app.get(LlmRotateDashboardService);
    const stream = new DashboardStream(`${a.base}/stream`);
    streams.push(stream);
    const first = await stream.until(() => true, 'the first frame');
    expect(keyIn(first, 'k1').state).toBe('ACTIVE');
    expect(first.events).toEqual([]);
    expect(first.totals.attempts).toBe(0);

    fake.script('sk-dash-k1', 'rate_limit');
    await a.engine.chat('gpt-4o-mini', HI);
    // refreshMs is a minute: this frame was pushed by the usage events.
    const cooled = await stream.until((f) => keyIn(f, 'k1').state === 'COOLDOWN', 'k1 cooling');
    expect(keyIn(cooled, 'k1').msLeft).toBeGreaterThan(20_000);
    expect(cooled.status.keys.byState.COOLDOWN).toBe(1);
    await stream.until((f) => f.totals.attempts === 2, 'both attempts');
    const events = stream.frames.flatMap((f) => f.events);
    expect(events.map((e) => e.seq)).toEqual([1, 2]);
    expect(stream.events.every((e) => e.type === 'state')).toBe(true);

    expect(service['live'].connected).toBe(1);
    stream.close();
    await eventually(() => service['live'].connected === 0, 'the server to drop the client');
  });

  it('a cooldown that runs out is seen without any call (the timer)', async () => {
    const a = await mount({ path: 'dash', refreshMs: 60_000 });
    fake.script('sk-dash-k1', { status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'slow down' } } });
    await a.engine.chat('gpt-4o-mini', HI);
    const stream = new DashboardStream(`${a.base}/stream`);
    streams.push(stream);
    await stream.until((f) => keyIn(f, 'k1').state === 'COOLDOWN', 'k1 cooling');
    // No call and no usage event from here on; refreshMs is a minute: the frame comes when the cooldown ends.
    const back = await stream.until((f) => keyIn(f, 'k1').state === 'PROBATION', 'k1 back on probation', 20_000);
    expect(keyIn(back, 'k1').msLeft).toBeNull();
    expect(keyIn(back, 'k1').available).toBe(true);
  });

  it('a frame carries at most the newest 100 events, however big the buffer', async () => {
    const a = await mount({ path: 'dash', recentEvents: 1000, refreshMs: 60_000 });
    for (let i = 0; i < 130; i++) await a.engine.chat('gpt-4o-mini', HI);
    const stream = new DashboardStream(`${a.base}/stream`);
    streams.push(stream);
    const first = await stream.until(() => true, 'the first frame');
    expect(first.events.map((e) => e.seq)).toEqual(Array.from({ length: 100 }, (_, i) => 31 + i));
    expect(first.status.recentEvents).toEqual({ capacity: 1000, size: 130, total: 130 });
    expect((await getJson<DashboardEventsView>(`${a.base}/events`)).events).toHaveLength(130);
    // The next frame (the first shared one) sends this page no event twice.
    await a.engine.chat('gpt-4o-mini', HI);
    await stream.until((f) => f.totals.attempts === 131, 'the next attempt');
    expect(stream.frames.flatMap((f) => f.events).map((e) => e.seq)).toEqual(Array.from({ length: 101 }, (_, i) => 31 + i));
  });

  it('usage bursts are throttled into few frames', async () => {
    const a = await mount({ path: 'dash', refreshMs: 60_000 });
    const stream = new DashboardStream(`${a.base}/stream`);
    streams.push(stream);
    await stream.until(() => true, 'the first frame');
    await Promise.all(Array.from({ length: 40 }, () => a.engine.chat('gpt-4o-mini', HI)));
    await stream.until((f) => f.totals.attempts === 40, 'all 40 attempts');
    // One frame per 250 ms at most: 40 events in far fewer frames, and every event exactly once.
    expect(stream.frames.length).toBeLessThan(40);
    expect(stream.frames.flatMap((f) => f.events).map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('closing the app ends open streams first, so the HTTP server closes their connections at once', async () => {
    const a = await mount({ path: 'dash' });
    // Were the page's connection still busy when the server closes, it would wait for this timeout (the test's is 30 s).
    (a.app.getHttpServer() as { keepAliveTimeout: number }).keepAliveTimeout = 120_000;
    // A client that keeps its connection open for as long as the server does (as a browser may).
    const socket = connect(Number(new URL(a.url).port), '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /dash/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: keep-alive\r\n\r\n');
    await eventually(() => text.includes('event: state'), 'the first frame');
    await a.close();
    await closed;
    // The stream was ended (the last chunk of a chunked body), not cut.
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text.endsWith('\r\n0\r\n\r\n')).toBe(true);
    expect(a.app.get(LlmRotateDashboardService)['live'].connected).toBe(0);
    // A page reconnecting during shutdown gets a stream that ends at once.
    expect(await firstValueFrom(a.app.get(LlmRotateDashboardService).stream(), { defaultValue: 'ended at once' })).toBe('ended at once');
  });
});

describe('LlmRotateDashboardModule: operator actions', () => {
  it('are off by default: the routes do not exist (404) and the status says so', async () => {
    const a = await mount();
    for (const action of ['disable', 'enable', 'reset']) expect((await post(`${a.base}/keys/k1/${action}`)).status).toBe(404);
    expect((await keysOf(a.base))[0].state).toBe('ACTIVE');
    // Turned off explicitly, with a guard: no routes either.
    const b = await mount({ path: 'off', actions: { enabled: false, guard: AllowGuard } });
    expect((await post(`${b.base}/keys/k1/disable`)).status).toBe(404);
  });

  it('a guard that refuses: 403 and nothing applied', async () => {
    const a = await mount({ path: 'dash', actions: { enabled: true, guard: RefuseGuard } });
    const res = await post(`${a.base}/keys/k1/disable`);
    expect(res.status).toBe(403);
    expect((await keysOf(a.base))[0].state).toBe('ACTIVE');
    expect((await getJson<DashboardStatusView>(`${a.base}/status`)).actions).toBe(true);
  });

  it('a guard that allows: disable, enable and reset are applied (and answer the key); an unknown key is a 404', async () => {
    const a = await mount({ path: 'dash', actions: { enabled: true, guard: AllowGuard } });
    let res = await post(`${a.base}/keys/k1/disable`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ keyId: 'k1', action: 'disable', key: { keyId: 'k1', state: 'DISABLED', available: false } });
    expect((await a.engine.chat('gpt-4o-mini', HI)).keyId).toBe('k2');

    res = await post(`${a.base}/keys/k1/enable`);
    expect(await res.json()).toMatchObject({ action: 'enable', key: { state: 'ACTIVE', available: true } });

    fake.script('sk-dash-k1', 'rate_limit');
    await a.engine.chat('gpt-4o-mini', HI);
    expect((await keysOf(a.base))[0].state).toBe('COOLDOWN');
    res = await post(`${a.base}/keys/k1/reset`);
    expect(await res.json()).toMatchObject({ action: 'reset', key: { state: 'ACTIVE', until: null, consecutiveFailures: 0 } });

    res = await post(`${a.base}/keys/nope/disable`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toBe('The pool has no key "nope"');
  });

  it('a request a browser marks as cross-site is refused, whatever the guard says', async () => {
    const a = await mount({ path: 'dash', actions: { enabled: true, guard: AllowGuard } });
    expect((await post(`${a.base}/keys/k1/disable`, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await post(`${a.base}/keys/k1/disable`, { 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await keysOf(a.base))[0].state).toBe('ACTIVE');
    expect((await post(`${a.base}/keys/k1/disable`, { 'sec-fetch-site': 'same-origin' })).status).toBe(200);
  });

  it('the guard gets its dependencies from `imports`, and sees the request', async () => {
    const TOKEN = 'OPS_TOKEN';
    @Module({ providers: [{ provide: TOKEN, useValue: 'let-me-in' }], exports: [TOKEN] })
    class OpsModule {}
    @Injectable()
    class TokenGuard implements CanActivate {
      constructor(@Inject(TOKEN) private readonly token: string) {}
      canActivate(ctx: ExecutionContext): boolean {
        return ctx.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-ops-token'] === this.token;
      }
    }
    const a = await mount({ path: 'dash', actions: { enabled: true, guard: TokenGuard }, imports: [OpsModule] });
    expect((await post(`${a.base}/keys/k2/disable`, { 'x-ops-token': 'wrong' })).status).toBe(403);
    expect((await post(`${a.base}/keys/k2/disable`, { 'x-ops-token': 'let-me-in' })).status).toBe(200);
    expect((await keysOf(a.base))[1].state).toBe('DISABLED');
  });

  it('an action reaches live pages at once', async () => {
    const a = await mount({ path: 'dash', refreshMs: 60_000, actions: { enabled: true, guard: AllowGuard } });
    const stream = new DashboardStream(`${a.base}/stream`);
    streams.push(stream);
    await stream.until((f) => f.status.actions, 'the first frame');
    await post(`${a.base}/keys/k3/disable`);
    await stream.until((f) => keyIn(f, 'k3').state === 'DISABLED', 'k3 disabled');
  });
});

describe('LlmRotateDashboardModule.registerAsync', () => {
  const GUARDED = 'DASHBOARD_ACTIONS_ON';
  @Module({ providers: [{ provide: GUARDED, useValue: true }], exports: [GUARDED] })
  class FlagsModule {}

  it('takes the runtime options from a factory; the guarded routes answer only when it turns them on', async () => {
    const on = await startApp([
      LlmRotateModule.forRoot(poolOptions()),
      LlmRotateDashboardModule.registerAsync({
        path: 'dash',
        actionsGuard: AllowGuard,
        imports: [FlagsModule],
        inject: [GUARDED],
        useFactory: (enabled: boolean) => ({ actions: { enabled }, recentEvents: 5 }),
      }),
    ]);
    apps.push(on);
    expect((await getJson<DashboardStatusView>(`${on.url}/dash/status`)).recentEvents.capacity).toBe(5);
    expect((await post(`${on.url}/dash/keys/k1/disable`)).status).toBe(200);

    const off = await startApp([
      LlmRotateModule.forRoot(poolOptions()),
      LlmRotateDashboardModule.registerAsync({ path: 'dash', actionsGuard: AllowGuard, useFactory: async () => ({ actions: { enabled: false } }) }),
    ]);
    apps.push(off);
    const res = await post(`${off.url}/dash/keys/k1/disable`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ statusCode: 404, error: 'Not Found', message: 'Cannot POST /dash/keys/k1/disable' });
    expect((await getJson<DashboardStatusView>(`${off.url}/dash/status`)).actions).toBe(false);
  });

  it('a factory that turns actions on without a guard, or returns bad values, stops the start naming them', async () => {
    await expect(
      startApp([LlmRotateModule.forRoot(poolOptions()), LlmRotateDashboardModule.registerAsync({ useFactory: () => ({ actions: { enabled: true } }) })]),
    ).rejects.toThrow(/actions\.enabled: the actions need a guard: give registerAsync\(\{ actionsGuard \}\)/);
    await expect(
      startApp([LlmRotateModule.forRoot(poolOptions()), LlmRotateDashboardModule.registerAsync({ useFactory: () => ({ refreshMs: 5, extra: 1 }) as never })]),
    ).rejects.toThrow(/refreshMs: must be an integer[\s\S]*extra: unknown option|extra: unknown option[\s\S]*refreshMs: must be an integer/);
    expect(() => LlmRotateDashboardModule.registerAsync({ path: 'a b' } as never)).toThrow(/path: must be[\s\S]*useFactory: must be a function/);
  });
});

describe('LlmRotateDashboardModule: several pools', () => {
  it('a dashboard per named pool, each at its own path, each showing its own pool', async () => {
    const cheap = makeOptions(fake.baseUrl, [{ keyId: 'cheap-1', secret: 'sk-cheap-1' }]);
    const premium = makeOptions(fake.baseUrl, [
      { keyId: 'premium-1', secret: 'sk-premium-1' },
      { keyId: 'premium-2', secret: 'sk-premium-2' },
    ]);
    const a = await startApp([
      LlmRotateModule.forRoot({ ...cheap, name: 'cheap' }),
      LlmRotateModule.forRoot({ ...premium, name: 'premium' }),
      LlmRotateDashboardModule.register({ path: 'cheap', pool: 'cheap' }),
      LlmRotateDashboardModule.register({ path: 'premium', pool: 'premium' }),
    ]);
    apps.push(a);
    expect((await keysOf(`${a.url}/cheap`)).map((k) => k.keyId)).toEqual(['cheap-1']);
    expect((await keysOf(`${a.url}/premium`)).map((k) => k.keyId)).toEqual(['premium-1', 'premium-2']);
    expect((await getJson<DashboardStatusView>(`${a.url}/premium/status`)).pool).toBe('premium');
  });
});
