import { setTimeout as sleep } from 'node:timers/promises';
import type { StateStoreOptions } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import type { TestKey } from '../../support/options';
import { clientsNamed, RedisServer } from '../../support/redis-server';
import { eventually, uniqueNamespace } from '../../support/redis-store';
import { killChildren, Worker } from '../../support/workers';

const WORKERS = 4;
const CALLS = 5;
const COOLDOWN_S = 3;

/**
 * SPEC §5, across real processes: WORKERS child processes, each its own Nest app, one fake upstream where one
 * key answers 429 (retry-after COOLDOWN_S). After the first 429 that key gets no further request from any worker
 * until its cooldown ends when they share Redis; with the memory store each worker finds out for itself.
 */
describe('several worker processes share key health through Redis', () => {
  let redis: RedisServer;
  const hits: Record<string, number> = {};

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  // Whatever happened in the test (a failed expectation, a worker that hung), no worker process survives it.
  afterEach(() => killChildren());
  afterAll(async () => {
    // eslint-disable-next-line no-console
    console.log(
      `cross-process (${WORKERS} worker processes, ${CALLS} calls each after the first 429): requests to the 429 key after its first 429 — ` +
        `redis store: ${hits.redis}, memory store: ${hits.memory}`,
    );
    await redis?.close();
  });

  async function scenario(stateStore: StateStoreOptions): Promise<{ after429: number; resumed: number; errors: string[] }> {
    const fake = await OpenAiFake.start({ rateLimitHeaders: { 'retry-after': String(COOLDOWN_S) } });
    const workers: Worker[] = [];
    try {
      fake.script('sk-xp-hot', 'rate_limit');
      const keys: TestKey[] = [
        { keyId: 'hot', secret: 'sk-xp-hot', priority: 1 },
        { keyId: 'cold', secret: 'sk-xp-cold' },
      ];
      workers.push(...(await Promise.all(Array.from({ length: WORKERS }, () => Worker.start(fake.baseUrl, keys, stateStore)))));
      for (const w of workers) expect(w.store).toEqual({ backend: stateStore.backend, status: 'up' });

      // Worker 0 meets the 429 first.
      const first = await workers[0].chat(1);
      expect(first.attempts).toEqual([['hot', 'cold']]);
      const t429 = Date.now();
      expect(fake.hits('sk-xp-hot')).toBe(1);

      // Every worker now calls, all at once.
      const batches = await Promise.all(workers.map((w) => w.chat(CALLS)));
      expect(Date.now() - t429).toBeLessThan(COOLDOWN_S * 1000); // all of it happened inside the cooldown
      const errors = batches.flatMap((b) => b.errors);
      expect(batches.flatMap((b) => b.done)).toEqual(Array(WORKERS * CALLS).fill('cold'));
      const after429 = fake.hits('sk-xp-hot') - 1;

      // Once the cooldown ends, the key serves again.
      fake.script('sk-xp-hot', 'ok');
      await sleep(Math.max(0, t429 + COOLDOWN_S * 1000 + 200 - Date.now()));
      const before = fake.hits('sk-xp-hot');
      const later = await Promise.all(workers.map((w) => w.chat(1)));
      errors.push(...later.flatMap((b) => b.errors));
      return { after429, resumed: fake.hits('sk-xp-hot') - before, errors };
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await fake.close();
    }
  }

  it('redis store: the 429 key gets no request from any worker after its first 429, until the cooldown ends', async () => {
    const ns = uniqueNamespace('xproc');
    const r = await scenario({ backend: 'redis', redisUrl: redis.url, redisNamespace: ns });
    hits.redis = r.after429;
    expect(r.errors).toEqual([]);
    expect(r.after429).toBe(0);
    expect(r.resumed).toBeGreaterThanOrEqual(1);
    // Nest shutdown in each worker closed its connection.
    await eventually(async () => (await clientsNamed(redis, `llmrotate:${ns}`)).length === 0, 5000, 'no connection left');
  }, 120_000);

  it('memory store: each worker hits the 429 key for itself', async () => {
    const r = await scenario({ backend: 'memory' });
    hits.memory = r.after429;
    expect(r.errors).toEqual([]);
    expect(r.after429).toBe(WORKERS - 1);
    expect(r.after429).toBeGreaterThan(1);
  }, 120_000);
});
