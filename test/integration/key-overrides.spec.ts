import { Test } from '@nestjs/testing';
import { LlmRotate, LlmRotateModule, LlmRotateService, NoAvailableKeyError } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { makeOptions, recordingLogger } from '../support/options';
import { RedisServer } from '../support/redis-server';
import { HI, keyRow, redisEngine, uniqueNamespace } from '../support/redis-store';

/** Operator actions on one key (the dashboard's): disable / enable / reset, on both stores. */
describe('operator overrides: disableKey, enableKey, resetKey', () => {
  let fake: OpenAiFake;
  let redis: RedisServer;
  beforeAll(async () => {
    fake = await OpenAiFake.start();
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await fake.close();
    await redis.close();
  });
  beforeEach(() => fake.reset());

  const KEYS = [{ keyId: 'a', priority: 1 }, { keyId: 'b' }];

  async function memoryEngine(): Promise<LlmRotate> {
    return LlmRotate.create(makeOptions(fake.baseUrl, KEYS), { logger: recordingLogger().logger });
  }

  describe.each(['memory', 'redis'] as const)('%s store', (backend) => {
    async function engines(): Promise<LlmRotate[]> {
      if (backend === 'memory') return [await memoryEngine()];
      const ns = uniqueNamespace('override');
      const one = await redisEngine(fake.baseUrl, KEYS, { redisUrl: redis.url, redisNamespace: ns });
      const two = await redisEngine(fake.baseUrl, KEYS, { redisUrl: redis.url, redisNamespace: ns });
      return [one.lr, two.lr];
    }

    it('disable takes a key out of rotation (for every worker), a reload keeps it out, enable brings it back', async () => {
      const all = await engines();
      const [lr] = all;
      expect(await lr.disableKey('a')).toBe(true);
      for (const w of all) {
        expect((await keyRow(w, 'a')).state).toBe('DISABLED');
        expect((await w.chat('gpt-4o-mini', HI)).keyId).toBe('b');
      }
      await lr.reload(makeOptions(fake.baseUrl, KEYS, backend === 'redis' ? { stateStore: lr.options.registry.stateStore } : {}));
      expect((await keyRow(lr, 'a')).state).toBe('DISABLED');
      expect(await all[all.length - 1].enableKey('a')).toBe(true);
      for (const w of all) {
        expect((await keyRow(w, 'a')).state).toBe('ACTIVE');
        expect((await w.chat('gpt-4o-mini', HI)).keyId).toBe('a');
      }
      expect(fake.hits('sk-test-a')).toBe(all.length);
      await Promise.all(all.map((w) => w.close()));
    });

    it('reset clears a cooldown at once; enable never revives a key the configuration disabled', async () => {
      fake.script('sk-test-a', 'rate_limit', 'ok');
      const all = await engines();
      const [lr] = all;
      expect((await lr.chat('gpt-4o-mini', HI)).keyId).toBe('b');
      expect((await keyRow(lr, 'a')).state).toBe('COOLDOWN');
      expect(await lr.resetKey('a')).toBe(true);
      for (const w of all) expect((await keyRow(w, 'a')).state).toBe('ACTIVE');
      expect((await lr.chat('gpt-4o-mini', HI)).keyId).toBe('a');
      expect(await lr.resetKey('nope')).toBe(false);
      await Promise.all(all.map((w) => w.close()));

      const off = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'x', enabled: false }, { keyId: 'y' }]), { logger: recordingLogger().logger });
      await off.enableKey('x');
      expect((await keyRow(off, 'x')).state).toBe('DISABLED');
      await off.disableKey('y');
      await expect(off.chat('gpt-4o-mini', HI)).rejects.toBeInstanceOf(NoAvailableKeyError);
      await off.close();
    });
  });

  it('the Nest service offers the same operator actions and the usage reset', async () => {
    const mod = await Test.createTestingModule({ imports: [LlmRotateModule.forRoot(makeOptions(fake.baseUrl, KEYS))] }).compile();
    const app = mod.createNestApplication({ logger: false });
    await app.init();
    const svc = app.get(LlmRotateService);
    try {
      expect(await svc.disableKey('a')).toBe(true);
      expect((await svc.chat('gpt-4o-mini', HI)).keyId).toBe('b');
      expect(await svc.enableKey('a')).toBe(true);
      fake.script('sk-test-a', 'rate_limit', 'ok');
      expect((await svc.chat('gpt-4o-mini', HI)).keyId).toBe('b');
      expect(await svc.resetKey('a')).toBe(true);
      expect((await svc.chat('gpt-4o-mini', HI)).keyId).toBe('a');
      expect(svc.usageSummary().total.attempts).toBe(4);
      svc.resetUsage();
      expect(svc.usageSummary().total.attempts).toBe(0);
      const seen: string[] = [];
      const off = svc.addObserver({ callStarted: (c) => (seen.push(c.source), undefined) });
      await svc.chat('gpt-4o-mini', HI);
      off();
      expect(seen).toEqual(['chat']);
    } finally {
      await app.close();
    }
  });
});
