import { Test } from '@nestjs/testing';
import { AllKeysExhaustedError, LlmRotate, LlmRotateHealthIndicator, LlmRotateModule, LlmRotateService, NoAvailableKeyError } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { keyRow } from '../support/engine';
import { FakeClock } from '../support/fake-clock';
import { makeOptions, recordingLogger } from '../support/options';

const MSG = [{ role: 'user' as const, content: 'hi' }];

/** Issue 8 item 3: every wait taken from a header is capped at the provider's maxCooldownSeconds. */
describe('waits taken from upstream headers are capped (maxCooldownSeconds)', () => {
  let fake: OpenAiFake;
  let lr: LlmRotate | undefined;
  let clock: FakeClock;
  beforeEach(async () => {
    fake = await OpenAiFake.start();
    clock = new FakeClock(Date.now());
  });
  afterEach(async () => {
    await lr?.close();
    lr = undefined;
    await fake.close();
  });

  it('retry-after: 1000000000 benches the key for maxCooldownSeconds, not until 2058', async () => {
    fake.script('sk-test-a', { status: 429, headers: { 'retry-after': '1000000000' } }, 'ok');
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }], { providers: { openai: { maxCooldownSeconds: 120 } } }), { clock, logger: recordingLogger().logger });
    await expect(lr.chat('gpt-4o-mini', MSG)).rejects.toBeInstanceOf(AllKeysExhaustedError);
    expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until: new Date(clock.now() + 120_000).toISOString() });
    const err = (await lr.chat('gpt-4o-mini', MSG).catch((e: unknown) => e)) as NoAvailableKeyError;
    expect(err).toBeInstanceOf(NoAvailableKeyError);
    expect(err.retryAfterMs).toBe(120_000);
    clock.advance(120_000);
    expect((await lr.chat('gpt-4o-mini', MSG)).keyId).toBe('a');
  });

  it('without maxCooldownSeconds the documented default (3600 s) caps it; a rate-limit reset header too', async () => {
    fake.script('sk-test-a', { status: 429, headers: { 'retry-after-ms': '99999999999999' } });
    fake.script('sk-test-b', { ok: true, headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '999999h' } });
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }]), { clock, logger: recordingLogger().logger });
    expect((await lr.chat('gpt-4o-mini', MSG)).keyId).toBe('b');
    const until = new Date(clock.now() + 3_600_000).toISOString();
    expect(await keyRow(lr, 'a')).toMatchObject({ state: 'COOLDOWN', until });
    expect(await keyRow(lr, 'b')).toMatchObject({ state: 'COOLDOWN', until });
  });

  it('snapshot() and the health indicator never throw, whatever retry-after says (1e13 s is past the last Date)', async () => {
    fake.script('sk-test-a', { status: 429, headers: { 'retry-after': '10000000000000' } });
    const mod = await Test.createTestingModule({ imports: [LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }]))] }).compile();
    const app = mod.createNestApplication({ logger: false });
    await app.init();
    try {
      const svc = app.get(LlmRotateService);
      expect((await svc.chat('gpt-4o-mini', MSG)).keyId).toBe('b');
      const row = (await svc.snapshot()).keys.find((k) => k.keyId === 'a');
      expect(row?.state).toBe('COOLDOWN');
      expect(Date.parse(row?.until as string) - Date.now()).toBeLessThanOrEqual(3_600_000);
      const health = await app.get(LlmRotateHealthIndicator).isHealthy('llm');
      expect(health.llm).toMatchObject({ status: 'up', keys: { a: { state: 'COOLDOWN', available: false } } });
    } finally {
      await app.close();
    }
  });
});
