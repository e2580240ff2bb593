import { ConfigurationError, LlmRotate, type LlmRotateOptions } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger } from '../../support/options';
import { waitFor } from '../../support/wait';

const MSG = [{ role: 'user' as const, content: 'hi' }];

describe('reload()', () => {
  let fake: OpenAiFake;
  let lr: LlmRotate;
  let clock: FakeClock;
  beforeEach(async () => {
    fake = await OpenAiFake.start();
    clock = new FakeClock(Date.now());
  });
  afterEach(async () => {
    await lr.close();
    await fake.close();
  });
  const states = async () => Object.fromEntries((await lr.snapshot()).keys.map((k) => [k.keyId, k.state]));

  it('swaps keys and strategy live; surviving keys keep their health; new keys start ACTIVE', async () => {
    fake.script('sk-test-a', 'rate_limit');
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }]), { clock, logger: recordingLogger().logger });
    await lr.chat('gpt-4o-mini', MSG);
    expect(await states()).toEqual({ a: 'COOLDOWN', b: 'ACTIVE' });
    await lr.reload(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'c' }], { strategy: 'round_robin' }));
    expect(await states()).toEqual({ a: 'COOLDOWN', c: 'ACTIVE' });
    expect((await lr.snapshot()).strategy).toBe('round_robin');
    const r = await lr.chat('gpt-4o-mini', MSG);
    expect(r.keyId).toBe('c');
    expect(fake.hits('sk-test-b')).toBe(1); // b is gone
  });

  it('a bad new config is rejected with every problem and the old one keeps serving', async () => {
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }]), { clock, logger: recordingLogger().logger });
    // Wrong on purpose (the types refuse 'fastest'): what a hand-edited registry file would bring at run time.
    const bad = { ...makeOptions(fake.baseUrl, [{ keyId: 'a' }]), strategy: 'fastest', useKeys: ['a', 'zzz'] } as unknown as LlmRotateOptions;
    const err = (await lr.reload(bad).catch((x: unknown) => x)) as ConfigurationError;
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^strategy: /), expect.stringMatching(/^useKeys\[1\]: "zzz"/)]));
    expect((await lr.chat('gpt-4o-mini', MSG)).keyId).toBe('a');
  });

  it('in-flight calls finish on the keys they hold; a key removed mid-call is simply released', async () => {
    const slow = await OpenAiFake.start({ reply: 'w '.repeat(40).trim(), gapMs: 10 });
    try {
      lr = await LlmRotate.create(makeOptions(slow.baseUrl, [{ keyId: 'a' }]), { clock, logger: recordingLogger().logger });
      const it = lr.stream('gpt-4o-mini', MSG)[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.value?.keyId).toBe('a');
      await lr.reload(makeOptions(slow.baseUrl, [{ keyId: 'b' }]));
      let text = first.value?.delta ?? '';
      for (let r = await it.next(); !r.done; r = await it.next()) text += r.value.delta;
      expect(text).toBe('w '.repeat(40).trim());
      expect((await lr.chat('gpt-4o-mini', MSG)).keyId).toBe('b');
      expect((await lr.snapshot()).keys.map((k) => [k.keyId, k.leasesInUse])).toEqual([['b', 0]]);
    } finally {
      await slow.close();
    }
  });

  it('a chat in flight during a reload completes', async () => {
    fake.script('sk-test-a', 'timeout');
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }], { providers: { openai: { timeoutMs: 400 } } }), { clock, logger: recordingLogger().logger });
    const p = lr.chat('gpt-4o-mini', MSG);
    await waitFor(() => fake.requests.length === 1);
    await lr.reload(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }, { keyId: 'c' }], { providers: { openai: { timeoutMs: 400 } } }));
    const r = await p;
    expect(r.attempts.map((a) => a.outcome)).toEqual(['transient', 'success']);
    expect((await lr.snapshot()).keys.find((k) => k.keyId === 'a')?.consecutiveFailures).toBe(1);
  });

  it('re-enabling a disabled key brings it back ACTIVE; disabling takes it out', async () => {
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', enabled: false }, { keyId: 'b' }]), { clock, logger: recordingLogger().logger });
    expect(await states()).toEqual({ a: 'DISABLED', b: 'ACTIVE' });
    await lr.reload(makeOptions(fake.baseUrl, [{ keyId: 'a' }, { keyId: 'b', enabled: false }]));
    expect(await states()).toEqual({ a: 'ACTIVE', b: 'DISABLED' });
    expect((await lr.chat('gpt-4o-mini', MSG)).keyId).toBe('a');
  });

  it('the state store cannot be swapped by a reload', async () => {
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }]), { clock, logger: recordingLogger().logger });
    await expect(lr.reload(makeOptions(fake.baseUrl, [{ keyId: 'a' }], { stateStore: { backend: 'redis', redisUrl: 'redis://127.0.0.1:1' } }))).rejects.toThrow(
      'registry.stateStore: cannot change on reload',
    );
  });
});
