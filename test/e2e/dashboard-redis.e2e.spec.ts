import { Injectable, type CanActivate } from '@nestjs/common';
import { LLM_ROTATE_ENGINE, LlmRotate, LlmRotateDashboardModule, LlmRotateModule, type DashboardKeyView, type DashboardStatusView } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { eventually, getJson, quietNest, startApp, type RunningApp } from '../support/dashboard-app';
import { DashboardStream, keyIn } from '../support/dashboard-stream';
import { makeOptions } from '../support/options';
import { RedisServer } from '../support/redis-server';

const HI = [{ role: 'user' as const, content: 'hi' }];

@Injectable()
class AllowGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

let redis: RedisServer;
let fake: OpenAiFake;
const apps: RunningApp[] = [];

beforeAll(async () => {
  quietNest();
  redis = await RedisServer.start();
  fake = await OpenAiFake.start({ rateLimitHeaders: { 'retry-after': '40' } });
});
afterAll(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await fake?.close();
  await redis?.close();
});

/** One worker: the same pool on the same Redis and namespace, with its own dashboard. */
async function worker(): Promise<{ engine: LlmRotate; base: string }> {
  const options = makeOptions(
    fake.baseUrl,
    [
      { keyId: 'k1', priority: 2, secret: 'sk-redis-k1' },
      { keyId: 'k2', priority: 1, secret: 'sk-redis-k2' },
    ],
    { strategy: 'priority', stateStore: { backend: 'redis', redisUrl: redis.url, redisNamespace: 'dashtest' } },
  );
  const a = await startApp([
    LlmRotateModule.forRoot(options),
    LlmRotateDashboardModule.register({ path: 'dash', refreshMs: 250, actions: { enabled: true, guard: AllowGuard } }),
  ]);
  apps.push(a);
  return { engine: a.app.get(LLM_ROTATE_ENGINE), base: `${a.url}/dash` };
}

const keysOf = async (base: string): Promise<DashboardKeyView[]> => (await getJson<{ keys: DashboardKeyView[] }>(`${base}/keys`)).keys;

describe('the dashboard with the Redis store (two workers)', () => {
  it("a 429 on worker A shows COOLDOWN on worker B's dashboard (JSON and live), and B's actions show on A's", async () => {
    const a = await worker();
    const b = await worker();
    expect((await getJson<DashboardStatusView>(`${b.base}/status`)).store).toMatchObject({ backend: 'redis', status: 'up' });
    const bStream = new DashboardStream(`${b.base}/stream`);
    try {
      await bStream.until((f) => keyIn(f, 'k1').state === 'ACTIVE', 'k1 active on B');

      fake.script('sk-redis-k1', 'rate_limit');
      expect((await a.engine.chat('gpt-4o-mini', HI)).keyId).toBe('k2');

      // B made no call and saw no usage event: what it shows comes from the shared state.
      const onB = (await keysOf(b.base)).find((k) => k.keyId === 'k1') as DashboardKeyView;
      expect(onB.state).toBe('COOLDOWN');
      expect(onB.msLeft).toBeGreaterThan(30_000);
      expect(onB.usage.attempts).toBe(0); // counters are per process
      const live = await bStream.until((f) => keyIn(f, 'k1').state === 'COOLDOWN', "k1 cooling on B's live page");
      expect(live.events).toEqual([]);
      expect(live.status.providers).toEqual([{ provider: 'openai', keys: 2, available: 1 }]);

      // An operator on B takes k2 out: A's dashboard (and A's selection) see it.
      expect((await fetch(`${b.base}/keys/k2/disable`, { method: 'POST' })).status).toBe(200);
      await eventually(async () => (await keysOf(a.base)).find((k) => k.keyId === 'k2')?.state === 'DISABLED', "k2 disabled on A's dashboard");
      // And B clears k1's cooldown: A serves with it again.
      expect((await fetch(`${b.base}/keys/k1/reset`, { method: 'POST' })).status).toBe(200);
      fake.reset();
      await eventually(async () => (await keysOf(a.base)).find((k) => k.keyId === 'k1')?.state === 'ACTIVE', "k1 active again on A's dashboard");
      expect((await a.engine.chat('gpt-4o-mini', HI)).keyId).toBe('k1');
    } finally {
      bStream.close();
    }
  });
});
