import { Test } from '@nestjs/testing';
import { LlmRotateHealthIndicator, LlmRotateModule, LlmRotateService } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { makeOptions } from '../support/options';

const MSG = [{ role: 'user' as const, content: 'hi' }];

describe('LlmRotateHealthIndicator', () => {
  it('is up while each provider has minAvailable keys, down (with details, key ids only) otherwise', async () => {
    const fake = await OpenAiFake.start();
    fake.script('sk-test-a', 'rate_limit');
    const mod = await Test.createTestingModule({
      imports: [LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }]))],
    }).compile();
    const app = mod.createNestApplication({ logger: false });
    await app.init();
    try {
      const indicator = app.get(LlmRotateHealthIndicator);
      expect(await indicator.isHealthy('llm')).toEqual({
        llm: expect.objectContaining({ status: 'up', providers: { openai: { keys: 2, available: 2 } }, store: { backend: 'memory', status: 'up' } }),
      });
      await app.get(LlmRotateService).chat('gpt-4o-mini', MSG); // a → COOLDOWN
      const up = await indicator.isHealthy('pool');
      expect(up.pool.status).toBe('up');
      expect(up.pool.keys).toMatchObject({ a: { state: 'COOLDOWN', available: false }, b: { state: 'ACTIVE', available: true } });
      const down = await indicator.isHealthy('pool', { minAvailable: 2 });
      expect(down.pool).toMatchObject({ status: 'down', message: 'No available key for openai (need 2 each)' });
      expect(JSON.stringify(down)).not.toContain('sk-test');
    } finally {
      await app.close();
      await fake.close();
    }
  });
});
