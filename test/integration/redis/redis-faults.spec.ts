import { Controller, Get, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { LlmRotate, LlmRotateHealthIndicator, LlmRotateModule } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { clientsNamed, RedisServer } from '../../support/redis-server';
import { eventually, HI, keyRow, redisEngine, uniqueNamespace } from '../../support/redis-store';

/**
 * Redis trouble: killed mid-run, paused, down at start-up, back again. Calls are served on local state with a
 * bounded extra latency, health says `degraded`, and the worker resynchronises without a restart.
 * Latency bounds are generous (this machine is shared); what they prove is "not waiting for Redis".
 */
describe('Redis state store under Redis failure', () => {
  let fake: OpenAiFake;
  const cleanup: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    fake = await OpenAiFake.start();
  });
  afterEach(async () => {
    while (cleanup.length > 0) await (cleanup.pop() as () => Promise<unknown>)().catch(() => undefined);
  });
  afterAll(() => fake?.close());

  async function server(start = true): Promise<RedisServer> {
    const s = start ? await RedisServer.start() : await RedisServer.reserve();
    cleanup.push(() => s.close());
    return s;
  }

  async function engine(keys: TestKey[], url: string, ns: string) {
    const e = await redisEngine(fake.baseUrl, keys, { redisUrl: url, redisNamespace: ns, commandTimeoutMs: 250 });
    cleanup.push(() => e.lr.close());
    return e;
  }

  /** Chats in `n` loops until stopped; records each call's duration and any error. */
  function load(lr: LlmRotate, n = 3) {
    let stop = false;
    const durations: number[] = [];
    const errors: unknown[] = [];
    const loops = Array.from({ length: n }, async () => {
      while (!stop) {
        const t = performance.now();
        try {
          await lr.chat('gpt-4o-mini', HI);
        } catch (e) {
          errors.push(e);
        }
        durations.push(performance.now() - t);
        await sleep(5);
      }
    });
    return {
      durations,
      errors,
      async stop() {
        stop = true;
        await Promise.all(loops);
      },
    };
  }

  it('Redis killed mid-run: every call is served, health degrades, and a restarted (empty) Redis gets the state back', async () => {
    const redis = await server();
    const admin = redis.client();
    cleanup.push(async () => admin.disconnect());
    const ns = uniqueNamespace('kill');
    const keys = [
      { keyId: 'hot', secret: 'sk-kill-hot', priority: 1 },
      { keyId: 'cold', secret: 'sk-kill-cold' },
    ];
    const { lr, lines } = await engine(keys, redis.url, ns);
    expect(lr.storeHealth().status).toBe('up');
    const run = load(lr);
    await sleep(150);
    await redis.kill();
    await eventually(() => lr.storeHealth().status === 'degraded', 5000, 'degraded');
    expect(lr.storeHealth().detail).toMatch(/Redis unreachable/);
    // Learnt while Redis is away: `hot` starts answering 429 and is cooled locally.
    fake.script('sk-kill-hot', 'rate_limit');
    await eventually(async () => (await keyRow(lr, 'hot')).state === 'COOLDOWN', 5000, 'local cooldown');
    const hotHitsDegraded = fake.hits('sk-kill-hot');
    await sleep(300);
    expect(fake.hits('sk-kill-hot')).toBe(hotHitsDegraded); // the local cooldown is honoured
    await redis.start();
    await eventually(() => lr.storeHealth().status === 'up', 10_000, 'resync');
    await sleep(100);
    await run.stop();

    expect(run.errors).toEqual([]);
    expect(run.durations.length).toBeGreaterThan(20);
    expect(Math.max(...run.durations)).toBeLessThan(2000);
    // The new (empty) Redis got the keys and the cooldown learnt during the outage.
    expect(await admin.exists(`{${ns}}:s:cold`)).toBe(1);
    expect(await admin.hget(`{${ns}}:s:hot`, 's')).toBe('COOLDOWN');
    // ...so a worker that starts now never tries `hot`.
    const other = await engine(keys, redis.url, ns);
    expect((await other.lr.chat('gpt-4o-mini', HI)).attempts.map((a) => a.keyId)).toEqual(['cold']);
    expect(lines.some((l) => /warn Redis state store unreachable/.test(l))).toBe(true);
    expect(lines.some((l) => /warn Redis state store is reachable/.test(l))).toBe(true);
  });

  it('CLIENT PAUSE: calls do not wait for the paused Redis, and no lease slot is leaked afterwards', async () => {
    const redis = await server();
    const admin = redis.client();
    cleanup.push(async () => admin.disconnect());
    const ns = uniqueNamespace('pause');
    const { lr } = await engine([{ keyId: 'k1', secret: 'sk-pause-1', maxConcurrent: 10 }, { keyId: 'k2', secret: 'sk-pause-2' }], redis.url, ns);
    await lr.chat('gpt-4o-mini', HI);
    await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
    const pausedAt = Date.now();
    const run = load(lr);
    await eventually(() => lr.storeHealth().status === 'degraded', 3000, 'degraded');
    await sleep(1000);
    const duringPause = [...run.durations];
    expect(Date.now() - pausedAt).toBeLessThan(4000); // still paused while we measured
    expect(duringPause.length).toBeGreaterThan(10);
    expect(Math.max(...duringPause)).toBeLessThan(2000); // one command timeout (250 ms), never the 4 s pause
    await eventually(() => lr.storeHealth().status === 'up', 10_000, 'back up');
    await run.stop();
    expect(run.errors).toEqual([]);
    // Leases taken by scripts that ran late (after the pause) and leases settled locally are freed by the resync.
    await eventually(async () => (await admin.zcard(`{${ns}}:l:k1`)) + (await admin.zcard(`{${ns}}:l:k2`)) === 0, 10_000, 'no leaked lease');
  });

  it('down at start-up: the app starts at once on local state and joins Redis when it comes up', async () => {
    const redis = await server(false);
    const ns = uniqueNamespace('late');
    const t0 = Date.now();
    const { lr, lines } = await engine([{ keyId: 'a', secret: 'sk-late-a' }], redis.url, ns);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(lr.storeHealth()).toMatchObject({ backend: 'redis', status: 'degraded' });
    expect((await lr.chat('gpt-4o-mini', HI)).keyId).toBe('a');
    expect(lines.filter((l) => /unreachable/.test(l))).toHaveLength(1); // said once, not per call
    await redis.start();
    await eventually(() => lr.storeHealth().status === 'up', 10_000, 'joined');
    expect(await redis.command('EXISTS', `{${ns}}:s:a`)).toBe(1);
    expect((await lr.chat('gpt-4o-mini', HI)).keyId).toBe('a');
  });

  it('close() quits its connection: CLIENT LIST shows none left (engine and Nest shutdown)', async () => {
    const redis = await server();
    const ns = uniqueNamespace('close');
    const name = `llmrotate:${ns}`;
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }], { stateStore: { backend: 'redis', redisUrl: redis.url, redisNamespace: ns } }), {
      logger: recordingLogger().logger,
    });
    expect(await clientsNamed(redis, name)).toHaveLength(1);
    await lr.close();
    await lr.close(); // twice is harmless
    await eventually(async () => (await clientsNamed(redis, name)).length === 0, 3000, 'no connection left');

    const moduleRef = await Test.createTestingModule({
      imports: [LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'a' }], { stateStore: { backend: 'redis', redisUrl: redis.url, redisNamespace: ns } }))],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    expect(await clientsNamed(redis, name)).toHaveLength(1);
    await app.close();
    await eventually(async () => (await clientsNamed(redis, name)).length === 0, 3000, 'no connection left after Nest shutdown');
  });

  it('a user-injected client is used as it is, survives Redis trouble without hanging calls, and is not closed by us', async () => {
    const redis = await server();
    const ns = uniqueNamespace('injected');
    const user = new Redis(redis.url, { connectionName: 'user-app' }); // ioredis defaults: offline queue on
    user.on('error', () => undefined);
    cleanup.push(async () => user.disconnect());
    const { logger } = recordingLogger();
    const lr = await LlmRotate.create(
      makeOptions(fake.baseUrl, [{ keyId: 'a', secret: 'sk-inj-a' }], { stateStore: { backend: 'redis', client: user, redisNamespace: ns, commandTimeoutMs: 250 } }),
      { logger },
    );
    cleanup.push(() => lr.close());
    await lr.chat('gpt-4o-mini', HI);
    expect(await redis.command('HGET', `{${ns}}:s:a`, 's')).toBe('ACTIVE');
    expect(await clientsNamed(redis, 'llmrotate:')).toHaveLength(0); // no connection of our own

    await redis.kill();
    const t = performance.now();
    for (let i = 0; i < 5; i++) await lr.chat('gpt-4o-mini', HI);
    expect(performance.now() - t).toBeLessThan(3000); // the user's queueing client cannot make us wait
    expect(lr.storeHealth().status).toBe('degraded');
    await redis.start();
    await eventually(() => lr.storeHealth().status === 'up', 10_000, 'back up');

    await lr.close();
    expect(user.status).toBe('ready');
    expect(await user.ping()).toBe('PONG');
    expect(await clientsNamed(redis, 'user-app')).toHaveLength(1);
  });

  it('the health indicator reports the store degraded while the pool stays up (Nest + Terminus)', async () => {
    const redis = await server();
    const ns = uniqueNamespace('health');

    @Controller('health')
    class HealthController {
      constructor(
        private readonly health: HealthCheckService,
        private readonly llm: LlmRotateHealthIndicator,
      ) {}

      @Get()
      @HealthCheck()
      check() {
        return this.health.check([() => this.llm.isHealthy('llm')]);
      }
    }

    const moduleRef = await Test.createTestingModule({
      imports: [
        TerminusModule.forRoot({ logger: false }),
        LlmRotateModule.forRoot(
          makeOptions(fake.baseUrl, [{ keyId: 'a', secret: 'sk-health-a' }], { stateStore: { backend: 'redis', redisUrl: redis.url, redisNamespace: ns, commandTimeoutMs: 250 } }),
        ),
      ],
      controllers: [HealthController],
    }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    await app.init();
    cleanup.push(() => app.close());

    const up = await request(app.getHttpServer()).get('/health').expect(200);
    expect(up.body.status).toBe('ok');
    expect(up.body.details.llm.store).toEqual({ backend: 'redis', status: 'up' });

    await redis.kill();
    await eventually(async () => (await request(app.getHttpServer()).get('/health')).body.details?.llm?.store?.status === 'degraded', 5000, 'degraded');
    const down = await request(app.getHttpServer()).get('/health').expect(200);
    expect(down.body.status).toBe('ok'); // the pool is still up: keys are served from local state
    expect(down.body.details.llm.status).toBe('up');
    expect(down.body.details.llm.store.detail).toMatch(/Redis unreachable/);

    await redis.start();
    await eventually(async () => (await request(app.getHttpServer()).get('/health')).body.details?.llm?.store?.status === 'up', 10_000, 'up again');
  });

  it('never shows the Redis password in health, logs or snapshots', async () => {
    const redis = await RedisServer.start({ args: ['--requirepass', 'pw-s3cr3t-x'] });
    cleanup.push(() => redis.close());
    const ns = uniqueNamespace('pw');
    const good = await redisEngine(fake.baseUrl, [{ keyId: 'a' }], { redisUrl: `redis://:pw-s3cr3t-x@127.0.0.1:${redis.port}`, redisNamespace: ns });
    cleanup.push(() => good.lr.close());
    expect(good.lr.storeHealth().status).toBe('up');
    await redis.kill();
    await good.lr.chat('gpt-4o-mini', HI);
    await eventually(() => good.lr.storeHealth().status === 'degraded', 5000, 'degraded');
    await redis.start();
    const wrong = await redisEngine(fake.baseUrl, [{ keyId: 'a' }], { redisUrl: `redis://:pw-wr0ng-y@127.0.0.1:${redis.port}`, redisNamespace: ns });
    cleanup.push(() => wrong.lr.close());
    expect(wrong.lr.storeHealth().status).toBe('degraded');
    const everything = JSON.stringify([good.lines, wrong.lines, good.lr.storeHealth(), wrong.lr.storeHealth(), await good.lr.snapshot(), await wrong.lr.snapshot()]);
    expect(everything).toMatch(/Redis unreachable/);
    expect(everything).not.toMatch(/pw-s3cr3t-x|pw-wr0ng-y/);
  });
});
