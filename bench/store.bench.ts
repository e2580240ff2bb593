import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { LlmRotate, type LlmRotateOptions, type StateStoreOptions } from '../lib';
import { systemClock } from '../lib/core/clock';
import { RedisStateStore } from '../lib/core/store/redis/redis.store';
import { OpenAiFake } from '../test/fakes/openai-fake';

export interface StoreRow {
  store: 'memory' | 'redis';
  keys: number;
  callers: number;
  opsPerSec: number;
  p50us: number;
  p99us: number;
}

const QUIET = { warn: () => undefined, error: () => undefined };

function options(keys: number, stateStore: StateStoreOptions, baseUrl = 'http://127.0.0.1:9/v1'): LlmRotateOptions {
  const ks = Array.from({ length: keys }, (_, i) => ({ keyId: `k${i}`, provider: 'openai' as const, secretRef: `literal://sk-bench-${i}`, models: ['gpt-4o-mini'], baseUrl }));
  return { registry: { keys: ks, stateStore }, useKeys: ks.map((k) => k.keyId) };
}

/**
 * acquire + report + release through the engine (what every chat() does around its HTTP call: select+lease, then
 * report+release), `callers` concurrent loops for `ms` milliseconds after a warm-up.
 */
export async function storeBench(store: 'memory' | 'redis', keys: number, callers: number, redisUrl: string | undefined, ms = 2000): Promise<StoreRow> {
  const stateStore: StateStoreOptions = store === 'redis' ? { backend: 'redis', redisUrl, redisNamespace: `bench${keys}x${callers}` } : { backend: 'memory' };
  const lr = await LlmRotate.create(options(keys, stateStore), { logger: QUIET });
  const step = async (): Promise<void> => {
    const ctx = await lr.acquire('openai', { model: 'gpt-4o-mini' });
    await ctx.reportSuccess({ inputTokens: 1, outputTokens: 1 });
  };
  for (let i = 0; i < 500; i++) await step();
  const lat: number[] = [];
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await step();
        lat.push(performance.now() - s);
      }
    }),
  );
  const elapsed = performance.now() - t0;
  await lr.close();
  lat.sort((a, b) => a - b);
  return { store, keys, callers, opsPerSec: Math.round((lat.length / elapsed) * 1000), p50us: lat[lat.length >> 1] * 1000, p99us: lat[Math.floor(lat.length * 0.99)] * 1000 };
}

/** Raw PING latency with ioredis on the same server (the floor a one-round-trip step can reach). */
export async function pingBench(redisUrl: string, callers: number, ms = 2000): Promise<{ p50us: number; p99us: number }> {
  const r = new Redis(redisUrl);
  for (let i = 0; i < 500; i++) await r.ping();
  const lat: number[] = [];
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await r.ping();
        lat.push(performance.now() - s);
      }
    }),
  );
  r.disconnect();
  lat.sort((a, b) => a - b);
  return { p50us: lat[lat.length >> 1] * 1000, p99us: lat[Math.floor(lat.length * 0.99)] * 1000 };
}

/** Pure selection (pick + lease on the memory store, no report), to compare with the 5 µs budget at 1,000 keys. */
export async function memorySelectBench(keys: number, n = 50_000): Promise<{ p50us: number; p99us: number }> {
  const lr = await LlmRotate.create(options(keys, { backend: 'memory' }), { logger: QUIET });
  const lat: number[] = [];
  const ctxs = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const ctx = await lr.acquire('openai', { model: 'gpt-4o-mini' });
    lat.push(performance.now() - s);
    ctxs.push(ctx);
    if (ctxs.length === 64) for (const c of ctxs.splice(0)) await c.release();
  }
  for (const c of ctxs) await c.release();
  await lr.close();
  lat.sort((a, b) => a - b);
  return { p50us: lat[n >> 1] * 1000, p99us: lat[Math.floor(n * 0.99)] * 1000 };
}

/**
 * Round trips to Redis per chat(), counted with MONITOR (commands sent by clients; those a Lua script runs inside
 * Redis are marked `lua` and do not count), calls made one after the other: a plain call, and a call whose first
 * key answers 429 so it rotates once. Reports travel behind the answer (with the next call's lease when calls
 * follow each other), so `plain` is about 1; the rotating call waits for 2 (its leases; the 429's report rides
 * with the second) and sends 3 in all.
 */
export async function roundTripsPerChat(redisUrl: string, calls = 200): Promise<{ plain: number; rotating: number }> {
  const fake = await OpenAiFake.start();
  const base = new Redis(redisUrl);
  const monitor = await base.monitor();
  let sent = 0;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua' && args[0]?.toLowerCase() !== 'ping') sent++;
  });
  const settle = () => new Promise((r) => setTimeout(r, 50)); // MONITOR lines arrive asynchronously
  const count = async (): Promise<number> => {
    await settle();
    return sent;
  };
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const engine = async (opts: LlmRotateOptions, ns: string) => {
    const stateStore: StateStoreOptions = { backend: 'redis', redisUrl, redisNamespace: ns };
    const store = new RedisStateStore(stateStore, systemClock, QUIET);
    opts.registry.stateStore = stateStore;
    return { lr: await LlmRotate.create(opts, { logger: QUIET, store }), store };
  };
  const { lr, store } = await engine(options(10, { backend: 'memory' }, fake.baseUrl), 'rtt');
  for (let i = 0; i < 20; i++) await lr.chat('gpt-4o-mini', messages);
  await store.flush();
  const before = await count();
  for (let i = 0; i < calls; i++) await lr.chat('gpt-4o-mini', messages);
  await store.flush();
  const plain = ((await count()) - before) / calls;
  await lr.close();

  let rotatingTotal = 0;
  const rounds = 10;
  for (let r = 0; r < rounds; r++) {
    const opts = options(2, { backend: 'memory' }, fake.baseUrl);
    opts.registry.keys[0].priority = 1;
    fake.script('sk-bench-0', 'rate_limit');
    const two = await engine(opts, `rtt-rot-${r}`);
    const b = await count();
    const res = await two.lr.chat('gpt-4o-mini', messages);
    await two.store.flush();
    rotatingTotal += (await count()) - b;
    if (res.attempts.length !== 2) throw new Error('the rotating call did not rotate');
    await two.lr.close();
  }
  monitor.disconnect();
  base.disconnect();
  await fake.close();
  return { plain, rotating: rotatingTotal / rounds };
}
