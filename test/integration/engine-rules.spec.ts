import { inspect } from 'node:util';
import {
  AllKeysExhaustedError,
  LlmRotate,
  NoAvailableKeyError,
  SecretResolutionError,
  UnknownModelError,
  type CallEnd,
  type EngineObserver,
  type KeyOptions,
  type LlmRotateOptions,
  type UsageEvent,
} from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { collect, keyRow } from '../support/engine';
import { FakeClock } from '../support/fake-clock';
import { makeOptions, recordingLogger } from '../support/options';
import { waitFor } from '../support/wait';

const MSG = [{ role: 'user' as const, content: 'hi' }];

/** Engine rules of issues 8 and 9 that live in the attempt path (one place for chat, stream and acquire). */
describe('engine rules', () => {
  let fake: OpenAiFake;
  let lr: LlmRotate | undefined;
  beforeEach(async () => {
    fake = await OpenAiFake.start();
  });
  afterEach(async () => {
    await lr?.close();
    lr = undefined;
    await fake.close();
  });

  async function engine(options: LlmRotateOptions, deps: Parameters<typeof LlmRotate.create>[1] = {}): Promise<LlmRotate> {
    lr = await LlmRotate.create(options, { logger: recordingLogger().logger, ...deps });
    return lr;
  }

  describe('waits taken from headers are capped (maxCooldownSeconds)', () => {
    it.each(['chat', 'stream'] as const)('%s: retry-after of 1e9 s benches the key for the cap, not until 2058; snapshot and health never throw', async (kind) => {
      const clock = new FakeClock();
      fake.script('sk-test-a', { status: 429, headers: { 'retry-after': '1000000000' } }, 'ok');
      const e = await engine(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }], { providers: { openai: { maxCooldownSeconds: 120 } } }), { clock });
      if (kind === 'chat') expect((await e.chat('gpt-4o-mini', MSG)).keyId).toBe('b');
      else expect((await collect(e.stream('gpt-4o-mini', MSG))).at(-1)?.keyId).toBe('b');
      const row = await keyRow(e, 'a');
      expect(row.state).toBe('COOLDOWN');
      expect(Date.parse(row.until as string)).toBe(clock.now() + 120_000);
      clock.advance(120_000);
      expect((await keyRow(e, 'a')).available).toBe(true);
      expect((await e.chat('gpt-4o-mini', MSG)).keyId).toBe('a');
    });

    it('the default cap is one hour; the 429 error itself carries the capped wait', async () => {
      const clock = new FakeClock();
      fake.script('sk-test-a', { status: 429, headers: { 'retry-after': '99999999999999' } });
      const e = await engine(makeOptions(fake.baseUrl, [{ keyId: 'a' }]), { clock });
      const err = (await e.chat('gpt-4o-mini', MSG).catch((x: unknown) => x)) as AllKeysExhaustedError;
      expect(err).toBeInstanceOf(AllKeysExhaustedError);
      expect(err.retryAfterMs).toBe(3_600_000);
      expect((err.cause as { retryAfterMs?: number }).retryAfterMs).toBe(3_600_000);
      expect(Date.parse((await keyRow(e, 'a')).until as string)).toBe(clock.now() + 3_600_000);
    });

    it('a spent window reported on a success cools the key for at most the cap', async () => {
      const clock = new FakeClock();
      fake.script('sk-test-a', { ok: true, headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '999999h' } });
      const e = await engine(makeOptions(fake.baseUrl, [{ keyId: 'a' }], { providers: { openai: { maxCooldownSeconds: 60 } } }), { clock });
      await e.chat('gpt-4o-mini', MSG);
      expect(Date.parse((await keyRow(e, 'a')).until as string)).toBe(clock.now() + 60_000);
    });
  });

  describe('secrets in error bodies: scrubbed first, then bounded; no identifying run survives', () => {
    const SECRET = 'sk-proj-Zq8vN3xK7mP2rT5wY9bC4dF6gH1jL0aS2eU8iO4';

    it('a key echoed across the bound, and a partial echo, leave no run of 8 of its characters', async () => {
      const filler = 'x'.repeat(480);
      fake.script(SECRET, { status: 401, body: { error: { message: `${filler} ${SECRET} and again ${SECRET.slice(5, 30)} trailing` } } });
      const e = await engine(makeOptions(fake.baseUrl, [{ keyId: 'a', secret: SECRET }]));
      const err = (await e.chat('gpt-4o-mini', MSG).catch((x: unknown) => x)) as AllKeysExhaustedError;
      const texts = [err.message, inspect(err, { depth: 5 }), JSON.stringify(err.attempts), String((err.cause as Error).message)].join('\n');
      for (let i = 0; i + 8 <= SECRET.length; i++) expect(texts).not.toContain(SECRET.slice(i, i + 8));
      expect(err.attempts[0].message?.length).toBeLessThan(600);
    });

    it('a 10 MB error message is bounded in attempts and errors', async () => {
      fake.script('sk-test-a', { status: 500, body: { error: { message: 'E'.repeat(10 * 1024 * 1024) } } });
      const e = await engine(makeOptions(fake.baseUrl, [{ keyId: 'a' }]));
      const err = (await e.chat('gpt-4o-mini', MSG).catch((x: unknown) => x)) as AllKeysExhaustedError;
      expect(err.attempts[0].message?.length).toBeLessThan(600);
      expect((err.cause as Error).message.length).toBeLessThan(600);
      expect(err.message.length).toBeLessThan(2000);
    });
  });

  describe('a key this process cannot use is held back locally, never counted against its health', () => {
    it('a bedrock secret that is not valid credentials JSON: not quarantined (shared), held back with the reason, the call rotates', async () => {
      const keys: KeyOptions[] = [
        { keyId: 'bad', provider: 'bedrock', secretRef: 'literal://{"accessKeyId": 1', baseUrl: fake.url, metadata: { region: 'eu-central-1' }, models: ['anthropic.claude-3-haiku'] },
        { keyId: 'ok', provider: 'openai', secretRef: 'literal://sk-test-ok', baseUrl: fake.baseUrl, models: ['anthropic.claude-3-haiku'] },
      ];
      const e = await engine({ registry: { keys }, useKeys: ['bad', 'ok'], strategy: 'priority', priorities: { bad: 1 } });
      const r = await e.chat('anthropic.claude-3-haiku', MSG);
      expect(r.keyId).toBe('ok');
      expect(r.attempts.map((a) => `${a.keyId}:${a.outcome}`)).toEqual(['bad:local_error', 'ok:success']);
      const bad = await keyRow(e, 'bad');
      expect(bad).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, available: false, leasesInUse: 0 });
      expect(bad.reason).toMatch(/bedrock secret looks like JSON but does not parse/);
      expect((await e.chat('anthropic.claude-3-haiku', MSG)).attempts).toHaveLength(1);
    });
  });

  describe('secret resolvers (config://, vault-like async) and start-up resolution', () => {
    it('a sync resolver serves config://NAME at call time; a secret missing at start-up is warned about and shown, then picked up', async () => {
      const config = new Map<string, string>([['OPENAI_A', 'sk-test-a']]);
      const log = recordingLogger();
      const clock = new FakeClock();
      const options = makeOptions(fake.baseUrl, [{ keyId: 'a' }, { keyId: 'b' }]);
      options.registry.keys[0].secretRef = 'config://OPENAI_A';
      options.registry.keys[1].secretRef = 'config://OPENAI_B';
      options.secretResolvers = { config: (name) => config.get(name) };
      const e = await engine(options, { logger: log.logger, clock });
      expect(log.lines.filter((l) => l.startsWith('warn') && l.includes('"b"'))).toEqual([
        expect.stringContaining('the "config" resolver has no value for "OPENAI_B"'),
      ]);
      const snap = await e.snapshot();
      expect(snap.providers.openai).toEqual({ keys: 2, available: 1 });
      expect(snap.keys.find((k) => k.keyId === 'b')).toMatchObject({ available: false, state: 'ACTIVE', reason: expect.stringMatching(/no value for "OPENAI_B"/) });
      for (let i = 0; i < 3; i++) expect((await e.chat('gpt-4o-mini', MSG)).keyId).toBe('a');
      expect(fake.hits('sk-test-b')).toBe(0);
      config.set('OPENAI_B', 'sk-test-b');
      clock.advance(30_000);
      const ids = new Set<string>();
      for (let i = 0; i < 4; i++) ids.add((await e.chat('gpt-4o-mini', MSG)).keyId);
      expect(ids).toEqual(new Set(['a', 'b']));
      expect((await keyRow(e, 'b')).reason).toBeUndefined();
    });

    it('an async resolver is asked once per TTL, shares one request between callers, and its last value survives an outage', async () => {
      const clock = new FakeClock();
      let asked = 0;
      let failing = false;
      const options = makeOptions(fake.baseUrl, [{ keyId: 'a' }]);
      options.registry.keys[0].secretRef = 'vault://kv/openai#a';
      options.secretResolvers = {
        vault: {
          cacheTtlMs: 60_000,
          resolve: async (name) => {
            asked++;
            await new Promise((r) => setTimeout(r, 5));
            if (failing) throw new Error('vault sealed');
            return name === 'kv/openai#a' ? 'sk-test-a' : undefined;
          },
        },
      };
      const log = recordingLogger();
      const e = await engine(options, { clock, logger: log.logger });
      expect(asked).toBe(1);
      await Promise.all([e.chat('gpt-4o-mini', MSG), e.chat('gpt-4o-mini', MSG)]);
      expect(asked).toBe(1);
      clock.advance(60_001);
      failing = true;
      await Promise.all([e.chat('gpt-4o-mini', MSG), e.chat('gpt-4o-mini', MSG)]);
      expect(asked).toBe(2);
      expect(log.lines.filter((l) => l.includes('the "vault" resolver failed (Error)') && l.includes('reusing its last resolved secret'))).toHaveLength(1);
      expect(log.lines.join('\n')).not.toContain('vault sealed');
      expect(fake.hits('sk-test-a')).toBe(4);
    });

    it('an unknown scheme is a ConfigurationError at start-up; a resolver that throws names the key, never the value', async () => {
      const options = makeOptions(fake.baseUrl, [{ keyId: 'a' }]);
      options.registry.keys[0].secretRef = 'vault://x';
      await expect(LlmRotate.create(options)).rejects.toThrow(/registry\.keys\[0\]\.secretRef: unknown scheme "vault:\/\/"/);
      options.secretResolvers = { vault: () => { throw new Error('permission denied for sk-test-a'); } };
      const e = await engine(options);
      const err = (await e.chat('gpt-4o-mini', MSG).catch((x: unknown) => x)) as NoAvailableKeyError;
      expect(err).toBeInstanceOf(NoAvailableKeyError);
      // The resolver's own message is never repeated (it may quote a value): its class only.
      expect((await keyRow(e, 'a')).reason).toBe('its secret cannot be resolved: the "vault" resolver failed (Error)');
      await expect(e.acquire('openai')).rejects.toBeInstanceOf(NoAvailableKeyError);
      expect(new SecretResolutionError('a', 'x')).toBeInstanceOf(Error);
    });
  });

  describe("the original's model rules", () => {
    const keys = (): KeyOptions[] => [
      { keyId: 'oa', provider: 'openai', secretRef: 'literal://sk-test-oa', baseUrl: fake.baseUrl },
      { keyId: 'or', provider: 'openrouter', secretRef: 'literal://sk-test-or', baseUrl: fake.baseUrl },
      { keyId: 'az', provider: 'azure_openai', secretRef: 'literal://az-test-key', baseUrl: fake.url },
    ];

    it('a model whose provider cannot be inferred, listed by no key, with no chain: UnknownModelError naming it (never "any key will do")', async () => {
      const e = await engine({ registry: { keys: keys() }, useKeys: ['oa', 'or', 'az'] });
      const err = (await e.chat('my-deployment', MSG).catch((x: unknown) => x)) as UnknownModelError;
      expect(err).toBeInstanceOf(UnknownModelError);
      expect(err.model).toBe('my-deployment');
      expect(err.message).toMatch(/No configured key serves model "my-deployment": .*cannot be inferred/);
      expect(fake.requests).toHaveLength(0);
      // Named explicitly, a provider's keys without `models` serve any id (an Azure deployment name).
      expect((await e.chat('my-deployment', MSG, { provider: 'azure_openai' })).keyId).toBe('az');
      await expect(collect(e.stream('my-deployment', MSG))).rejects.toBeInstanceOf(UnknownModelError);
    });

    it('a provider chain is walked when the provider was inferred, never when the caller names the provider', async () => {
      fake.script('sk-test-oa', 'server_error');
      const e = await engine({ registry: { keys: keys(), fallbacks: { openai: [{ provider: 'openrouter', upstream: 'openai' }] } }, useKeys: ['oa', 'or'] });
      expect((await e.chat('gpt-4o', MSG)).keyId).toBe('or');
      const err = (await e.chat('gpt-4o', MSG, { provider: 'openai' }).catch((x: unknown) => x)) as AllKeysExhaustedError;
      expect(err).toBeInstanceOf(AllKeysExhaustedError);
      expect(err.attempts.map((a) => a.keyId)).toEqual(['oa']);
      expect(fake.hits('sk-test-or')).toBe(1);
    });
  });

  describe('observers: one call, one child per attempt', () => {
    it('see calls and attempts (rotation, fallback flags) for chat, stream and acquire; a throwing observer never breaks a call', async () => {
      fake.script('sk-test-a', 'rate_limit');
      const e = await engine(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }]));
      const seen: string[] = [];
      const ends: CallEnd[] = [];
      const events: UsageEvent[] = [];
      const observer: EngineObserver = {
        callStarted: (c) => {
          seen.push(`call ${c.source} ${c.model}`);
          return {
            attemptStarted: (a) => {
              seen.push(`attempt ${a.attempt} ${a.keyId} fallback=${a.fallback}`);
              return { attemptEnded: (ev) => events.push(ev) };
            },
            callEnded: (end) => ends.push(end),
          };
        },
      };
      const off = e.addObserver(observer);
      e.addObserver({ callStarted: () => { throw new Error('observer bug'); } });
      await e.chat('gpt-4o-mini', MSG);
      await collect(e.stream('gpt-4o-mini', MSG));
      await e.withKey('openai', {}, () => 'x');
      expect(seen).toEqual(['call chat gpt-4o-mini', 'attempt 1 a fallback=false', 'attempt 2 b fallback=false', 'call stream gpt-4o-mini', 'attempt 1 b fallback=false', 'call acquire ', 'attempt 1 b fallback=false']);
      expect(events.map((ev) => `${ev.source}:${ev.keyId}:${ev.outcome}:${ev.attempt}`)).toEqual(['chat:a:rate_limit:1', 'chat:b:success:2', 'stream:b:success:1', 'acquire:b:success:1']);
      expect(ends.map((x) => `${x.outcome}/${x.attempts}/${x.keyId}`)).toEqual(['success/2/b', 'success/1/b', 'success/1/b']);
      expect(ends[0].usage).toEqual({ inputTokens: 9, outputTokens: 3 });
      off();
      await e.chat('gpt-4o-mini', MSG);
      expect(ends).toHaveLength(3);
    });
  });

  describe('maxWaitMs: lost lease races back off until the deadline instead of failing', () => {
    it('64 concurrent calls over one key with maxConcurrent 2 all succeed within maxWaitMs (memory store)', async () => {
      const slow = await OpenAiFake.start({ reply: 'a b c d', gapMs: 5 });
      try {
        const e = await engine(makeOptions(slow.baseUrl, [{ keyId: 'a', maxConcurrent: 2 }]));
        const results = await Promise.allSettled(Array.from({ length: 64 }, () => collect(e.stream('gpt-4o-mini', MSG, { maxWaitMs: 20_000 }))));
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        expect((await keyRow(e, 'a')).leasesInUse).toBe(0);
      } finally {
        await lr?.close();
        lr = undefined;
        await slow.close();
      }
    });

    it('a call whose deadline passes while keys are busy fails with retryAfterMs set', async () => {
      const e = await engine(makeOptions(fake.baseUrl, [{ keyId: 'a', maxConcurrent: 1 }]));
      const held = await e.acquire('openai');
      const err = (await e.chat('gpt-4o-mini', MSG, { maxWaitMs: 120 }).catch((x: unknown) => x)) as NoAvailableKeyError;
      expect(err).toBeInstanceOf(NoAvailableKeyError);
      expect(err.retryAfterMs).toBeGreaterThan(0);
      await held.release();
      await waitFor(() => e.callsInFlight === 0);
    });
  });
});

describe('call options are checked before any key is used', () => {
  it.each([
    [{ maxWaitMs: 2 ** 31 }, /opts\.maxWaitMs: must not be greater than 2147483647/],
    [{ maxWaitMs: -1 }, /opts\.maxWaitMs: must be a number of milliseconds/],
    [{ temperature: Number.NaN }, /opts\.temperature: must be a number from 0 to 2/],
    [{ provider: 'opnai' }, /opts\.provider: must be one of/],
  ])('%o is an InvalidRequestError naming the field (chat, stream and acquire)', async (opts, message) => {
    const fake = await OpenAiFake.start();
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }]), { logger: recordingLogger().logger });
    try {
      await expect(lr.chat('gpt-4o-mini', MSG, opts as never)).rejects.toThrow(message);
      await expect(collect(lr.stream('gpt-4o-mini', MSG, opts as never))).rejects.toThrow(message);
      if ('maxWaitMs' in opts) await expect(lr.acquire('openai', opts as never)).rejects.toThrow(message);
      expect(fake.requests).toHaveLength(0);
      expect(lr.callsInFlight).toBe(0);
    } finally {
      await lr.close();
      await fake.close();
    }
  });
});
