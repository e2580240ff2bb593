import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { LlmRotate, type LlmRotateOptions, type StateStoreOptions } from '../lib';
import { systemClock } from '../lib/core/clock';
import { RedisStateStore } from '../lib/core/store/redis/redis.store';
import { OpenAiFake } from '../test/fakes/openai-fake';
import { batchCalls, QUIET, quantile, storeClient } from './bench-util';

export interface OverheadResult {
  calls: number;
  fetch: { p50: number; p99: number };
  memory: { p50: number; p99: number };
  redis: { p50: number; p99: number };
  ping: { p50: number; p99: number };
  /** BATCH calls the Redis engine made per chat() (its reports ride with the next call's lease). */
  batchesPerCall: number;
}

function options(baseUrl: string, stateStore: StateStoreOptions): LlmRotateOptions {
  const keys = Array.from({ length: 10 }, (_, i) => ({ keyId: `k${i}`, provider: 'openai' as const, secretRef: `literal://sk-bench-${i}`, models: ['gpt-4o-mini'], baseUrl }));
  return { registry: { keys, stateStore }, useKeys: keys.map((k) => k.keyId) };
}

/**
 * What each store adds to a caller's chat(): one caller, `calls` rounds, each round timing in turn a direct fetch to
 * the fake upstream, chat() on the memory store, chat() on the Redis store, and a PING on the Redis store's own
 * connection. Interleaving call by call makes the machine's noise hit all four alike.
 */
export async function overheadBench(redisUrl: string, calls = 2000): Promise<OverheadResult> {
  const fake = await OpenAiFake.start();
  const memory = await LlmRotate.create(options(fake.baseUrl, { backend: 'memory' }), { logger: QUIET });
  const stateStore: StateStoreOptions = { backend: 'redis', redisUrl, redisNamespace: 'bench-overhead' };
  const store = new RedisStateStore(stateStore, systemClock, QUIET);
  const redis = await LlmRotate.create(options(fake.baseUrl, stateStore), { logger: QUIET, store });
  const client = storeClient(store);
  const admin = new Redis(redisUrl);
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages });
  const direct = async (): Promise<void> => {
    const r = await fetch(`${fake.baseUrl}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-bench-0', 'content-type': 'application/json' }, body });
    JSON.parse(await r.text());
  };
  const steps: Array<[keyof Omit<OverheadResult, 'calls' | 'batchesPerCall'>, () => Promise<unknown>]> = [
    ['fetch', direct],
    ['memory', () => memory.chat('gpt-4o-mini', messages)],
    ['redis', () => redis.chat('gpt-4o-mini', messages)],
    ['ping', () => client.ping()],
  ];
  const lat: Record<string, number[]> = { fetch: [], memory: [], redis: [], ping: [] };
  const round = async (record: boolean): Promise<void> => {
    for (const [name, fn] of steps) {
      const t0 = performance.now();
      await fn();
      const dt = performance.now() - t0;
      if (record) lat[name].push(dt);
    }
  };
  for (let i = 0; i < Math.min(500, calls); i++) await round(false);
  await store.flush();
  const before = await batchCalls(admin);
  for (let i = 0; i < calls; i++) {
    await round(true);
    if (i % 500 === 499) fake.requests.length = 0; // the fake records requests: keep its memory flat
  }
  await store.flush();
  const batchesPerCall = ((await batchCalls(admin)) - before) / calls;
  await memory.close();
  await redis.close();
  admin.disconnect();
  await fake.close();
  const q = (name: string) => ({ p50: quantile(lat[name], 0.5), p99: quantile(lat[name], 0.99) });
  return { calls, fetch: q('fetch'), memory: q('memory'), redis: q('redis'), ping: q('ping'), batchesPerCall };
}

export function overheadTable(r: OverheadResult): string {
  const f = (n: number): string => n.toFixed(0);
  const memOver = r.memory.p50 - r.fetch.p50;
  const redisOver = r.redis.p50 - r.fetch.p50;
  const budget = memOver + 1.5 * r.ping.p50;
  return [
    '| one caller, interleaved call by call | p50 µs | p99 µs | added to a direct fetch (p50) |',
    '|---|---|---|---|',
    `| direct \`fetch\` to the fake upstream | ${f(r.fetch.p50)} | ${f(r.fetch.p99)} | — |`,
    `| \`chat()\`, memory store | ${f(r.memory.p50)} | ${f(r.memory.p99)} | ${f(memOver)} |`,
    `| \`chat()\`, Redis store | ${f(r.redis.p50)} | ${f(r.redis.p99)} | ${f(redisOver)} |`,
    `| PING on the Redis store's own connection | ${f(r.ping.p50)} | ${f(r.ping.p99)} | — |`,
    '',
    `Target: Redis overhead ≤ memory overhead + 1.5 × PING p50 = ${f(budget)} µs; measured ${f(redisOver)} µs ` +
      `(${(redisOver / budget).toFixed(2)} of the budget: ${redisOver <= budget ? 'met' : `missed by ${f(redisOver - budget)} µs`}). ` +
      `Redis store minus memory store: ${f(redisOver - memOver)} µs = ${((redisOver - memOver) / r.ping.p50).toFixed(2)} × PING p50. ` +
      `Redis calls per chat() here: ${r.batchesPerCall.toFixed(2)} — the lease, the only one the caller waits for, and the report sent behind the answer ` +
      `(here other requests come between two chat() calls; when calls follow each other the report rides with the next lease: see the MONITOR count).`,
  ].join('\n');
}
