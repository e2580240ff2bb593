import { setTimeout as sleep } from 'node:timers/promises';
import { LlmRotate } from '../../../lib';
import { FakeHttpServer, sendJson } from '../../fakes/fake-http';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { RedisServer } from '../../support/redis-server';
import { HI, redisEngine, uniqueNamespace } from '../../support/redis-store';

const CALLS = 600;
const KEYS = 6;
const MAX_CONCURRENT = 10;
const DELAY_MS = 1;

/**
 * Issue 8 item 1: a call with `maxWaitMs` waits for a free slot until its deadline, with the memory store and with
 * Redis alike. 600 calls at once over 6 keys × maxConcurrent 10 (60 slots), an upstream answering after 1 ms: a few
 * seconds of work at most on a loaded machine, far inside maxWaitMs, so every call must succeed. Before the fix,
 * with Redis, hundreds of calls failed together with NoAvailableKeyError and retryAfterMs undefined: the walk gave up
 * after a few lost lease races (the mirror said a slot was free, another caller took it first) instead of waiting.
 */
describe.each(['memory', 'redis'] as const)('maxWaitMs under contention (%s store)', (backend) => {
  let upstream: FakeHttpServer;
  let redis: RedisServer | undefined;
  let inFlight = 0;
  let maxInFlight = 0;
  const engines: LlmRotate[] = [];

  beforeAll(async () => {
    upstream = await FakeHttpServer.start(async (_req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(DELAY_MS);
      inFlight--;
      sendJson(res, 200, {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
    });
    if (backend === 'redis') redis = await RedisServer.start();
  });
  afterEach(async () => {
    while (engines.length > 0) await (engines.pop() as LlmRotate).close();
  });
  afterAll(async () => {
    await upstream.close();
    await redis?.close();
  });

  const keys: TestKey[] = Array.from({ length: KEYS }, (_, i) => ({ keyId: `k${i}`, secret: `sk-wait-${i}`, maxConcurrent: MAX_CONCURRENT }));

  async function engine(): Promise<LlmRotate> {
    const lr =
      backend === 'redis'
        ? (await redisEngine(`${upstream.url}/v1`, keys, { redisUrl: (redis as RedisServer).url, redisNamespace: uniqueNamespace('wait') })).lr
        : await LlmRotate.create(makeOptions(`${upstream.url}/v1`, keys), { logger: recordingLogger().logger });
    engines.push(lr);
    return lr;
  }

  it(`${CALLS} calls over ${KEYS} keys × maxConcurrent ${MAX_CONCURRENT}, maxWaitMs 20 s: every call is served`, async () => {
    const lr = await engine();
    maxInFlight = 0;
    const results = await Promise.allSettled(Array.from({ length: CALLS }, () => lr.chat('gpt-4o-mini', HI, { maxWaitMs: 20_000 })));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const why = failed.slice(0, 3).map((f) => `${(f.reason as Error).name}: ${(f.reason as Error).message} (retryAfterMs ${(f.reason as { retryAfterMs?: number }).retryAfterMs})`);
    expect({ failed: failed.length, why }).toEqual({ failed: 0, why: [] });
    // The limit held: never more requests upstream at once than the slots.
    expect(maxInFlight).toBeLessThanOrEqual(KEYS * MAX_CONCURRENT);
    expect(maxInFlight).toBeGreaterThan(MAX_CONCURRENT); // and the keys were used together
    const snap = await lr.snapshot();
    expect(snap.keys.map((k) => k.leasesInUse)).toEqual(Array(KEYS).fill(0));
  }, 60_000);
});
