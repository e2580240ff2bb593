import {
  AllKeysExhaustedError,
  CallCancelledError,
  LlmRotate,
  NoAvailableKeyError,
  ProviderBadRequestError,
  ProviderHttpError,
  type LlmRotateOptions,
} from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { waitFor } from '../../support/wait';

const MSG = [{ role: 'user' as const, content: 'hi' }];

describe('chat() against a real OpenAI-format server', () => {
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

  async function engine(keys: TestKey[], extra: Parameters<typeof makeOptions>[2] = {}): Promise<LlmRotate> {
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, keys, extra), { clock, logger: recordingLogger().logger });
    return lr;
  }
  const stateOf = async (id: string) => (await (lr as LlmRotate).snapshot()).keys.find((k) => k.keyId === id);

  it('answers with content, usage, provider, key and one attempt', async () => {
    const e = await engine([{ keyId: 'a' }]);
    const r = await e.chat('gpt-4o-mini', MSG, { temperature: 0.2, maxTokens: 50 });
    expect(r).toMatchObject({ content: 'Hello from gpt-4o-mini', provider: 'openai', keyId: 'a', model: 'gpt-4o-mini', finishReason: 'stop' });
    expect(r.usage).toEqual({ inputTokens: 9, outputTokens: 3 });
    expect(r.attempts).toHaveLength(1);
    const sent = fake.requests[0];
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer sk-test-a');
    expect(sent.json).toMatchObject({ model: 'gpt-4o-mini', messages: MSG, temperature: 0.2, max_tokens: 50 });
  });

  it('a 429 cools the key for retry-after seconds and the call rotates to the next key', async () => {
    fake.script('sk-test-a', { status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'slow down' } } }, 'ok');
    const e = await engine([{ keyId: 'a', priority: 5 }, { keyId: 'b' }]);
    const r = await e.chat('gpt-4o-mini', MSG);
    expect(r.keyId).toBe('b');
    expect(r.attempts.map((a) => [a.keyId, a.outcome, a.status])).toEqual([
      ['a', 'rate_limit', 429],
      ['b', 'success', undefined],
    ]);
    const a = await stateOf('a');
    expect(a?.state).toBe('COOLDOWN');
    expect(Date.parse(a?.until as string)).toBe(clock.now() + 7000);
    // The cooled key is skipped until its timer runs out, then it is back on probation and a success makes it ACTIVE.
    await e.chat('gpt-4o-mini', MSG);
    expect(fake.hits('sk-test-a')).toBe(1);
    clock.advance(7000);
    expect((await stateOf('a'))?.state).toBe('PROBATION');
    const r3 = await e.chat('gpt-4o-mini', MSG);
    expect(r3.keyId).toBe('a');
    expect((await stateOf('a'))?.state).toBe('ACTIVE');
  });

  it('retry-after as an HTTP date is honoured', async () => {
    const at = new Date(Math.ceil((clock.now() + 90_000) / 1000) * 1000);
    fake.script('sk-test-a', { status: 429, headers: { 'retry-after': at.toUTCString() } });
    const e = await engine([{ keyId: 'a', priority: 1 }, { keyId: 'b' }]);
    await e.chat('gpt-4o-mini', MSG);
    expect((await stateOf('a'))?.until).toBe(at.toISOString());
  });

  it('without retry-after, OpenAI reset headers, then the provider cooldownSeconds, set the bench', async () => {
    fake.script('sk-test-a', 'rate_limit'); // x-ratelimit-remaining-requests: 0, reset 20s
    fake.script('sk-test-b', { status: 429, body: { error: { message: 'busy' } } });
    const e = await engine([{ keyId: 'a', priority: 2 }, { keyId: 'b', priority: 1 }, { keyId: 'c' }], {
      providers: { openai: { cooldownSeconds: 42 } },
    });
    await e.chat('gpt-4o-mini', MSG);
    expect(Date.parse((await stateOf('a'))?.until as string)).toBe(clock.now() + 20_000);
    expect(Date.parse((await stateOf('b'))?.until as string)).toBe(clock.now() + 42_000);
  });

  it('a success that says the window is spent cools the key before it can draw a 429', async () => {
    fake.script('sk-test-a', { ok: true, headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1m30s' } });
    const e = await engine([{ keyId: 'a' }]);
    const r = await e.chat('gpt-4o-mini', MSG);
    expect(r.keyId).toBe('a');
    const a = await stateOf('a');
    expect(a?.state).toBe('COOLDOWN');
    expect(Date.parse(a?.until as string)).toBe(clock.now() + 90_000);
  });

  it('a new rate-limit signal extends a cooldown, never shortens it (in-flight reports on a cooling key)', async () => {
    const e = await engine([{ keyId: 'a' }]);
    // Three calls in flight on one key; their 429s arrive one after another.
    const [c1, c2, c3, c4] = await Promise.all([e.acquire('openai'), e.acquire('openai'), e.acquire('openai'), e.acquire('openai')]);
    await c1.reportError({ kind: 'rate_limit', retryAfterMs: 100_000 });
    const first = Date.parse((await stateOf('a'))?.until as string);
    expect(first).toBe(clock.now() + 100_000);
    await c2.reportError({ kind: 'rate_limit', retryAfterMs: 5_000 });
    expect(Date.parse((await stateOf('a'))?.until as string)).toBe(first);
    await c3.reportError({ kind: 'rate_limit', retryAfterMs: 300_000 });
    expect(Date.parse((await stateOf('a'))?.until as string)).toBe(clock.now() + 300_000);
    // A late success from a call that started before the bench does not lift it.
    await c4.reportSuccess({ inputTokens: 1, outputTokens: 1 });
    expect((await stateOf('a'))?.state).toBe('COOLDOWN');
    const err = await e.acquire('openai').catch((x: unknown) => x);
    expect(err).toBeInstanceOf(NoAvailableKeyError);
    expect((err as NoAvailableKeyError).retryAfterMs).toBe(300_000);
  });

  it('a 401 quarantines the key for quarantineSeconds and rotates; the upstream echo of the key is scrubbed', async () => {
    fake.script('sk-test-a', 'auth');
    const log = recordingLogger();
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }], { providers: { openai: { quarantineSeconds: 600 } } }), { clock, logger: log.logger });
    const events: unknown[] = [];
    lr.onUsage((ev) => events.push(ev));
    const r = await lr.chat('gpt-4o-mini', MSG);
    expect(r.keyId).toBe('b');
    expect(r.attempts[0]).toMatchObject({ keyId: 'a', outcome: 'auth', status: 401, errorClass: 'ProviderHttpError' });
    const a = await stateOf('a');
    expect(a?.state).toBe('QUARANTINE');
    expect(Date.parse(a?.until as string)).toBe(clock.now() + 600_000);
    // Quarantined keys answer again only after the timer, on probation: one failure sends them back. The failure is
    // a transient one (a 5xx), which on an ACTIVE key would only count (1 of maxConsecutiveFailures = 3): only the
    // probation rule quarantines here (an auth failure would quarantine from any state).
    fake.script('sk-test-a', 'server_error');
    clock.advance(600_000);
    expect((await stateOf('a'))?.state).toBe('PROBATION');
    fake.script('sk-test-b', 'rate_limit');
    await expect(lr.chat('gpt-4o-mini', MSG)).rejects.toThrow(AllKeysExhaustedError);
    expect(await stateOf('a')).toMatchObject({ state: 'QUARANTINE', consecutiveFailures: 2, until: new Date(clock.now() + 600_000).toISOString() });
    expect(JSON.stringify(events) + log.lines.join('\n')).not.toContain('sk-test-a');
  });

  it('the exhausted error names the key, scrubs the echoed secret, and carries every attempt', async () => {
    fake.script('sk-test-a', 'auth');
    const e = await engine([{ keyId: 'a' }]);
    const err = (await e.chat('gpt-4o-mini', MSG).catch((x: unknown) => x)) as AllKeysExhaustedError;
    expect(err).toBeInstanceOf(AllKeysExhaustedError);
    expect(err.attempts).toEqual([expect.objectContaining({ keyId: 'a', outcome: 'auth', status: 401, errorClass: 'ProviderHttpError' })]);
    const cause = (err as { cause?: ProviderHttpError }).cause as ProviderHttpError;
    expect(cause.message).toContain('Incorrect API key provided: ***');
    expect(`${err.message} ${cause.message} ${JSON.stringify(err)} ${err.stack}`).not.toContain('sk-test-a');
    expect(err.retryAfterMs).toBe(300_000); // the quarantine ends then
  });

  it.each([
    ['server_error', 500],
    ['timeout', undefined],
    ['malformed', undefined],
    ['reset', undefined],
  ] as const)('%s counts a failure and rotates; maxConsecutiveFailures of them quarantine the key', async (behavior, status) => {
    fake.script('sk-test-a', behavior);
    const e = await engine([{ keyId: 'a', priority: 1 }, { keyId: 'b' }], { providers: { openai: { maxConsecutiveFailures: 2, timeoutMs: 300 } } });
    const r1 = await e.chat('gpt-4o-mini', MSG);
    expect(r1.keyId).toBe('b');
    expect(r1.attempts[0]).toMatchObject({ keyId: 'a', outcome: 'transient' });
    expect(r1.attempts[0].status).toBe(status);
    expect(await stateOf('a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 1 });
    await e.chat('gpt-4o-mini', MSG);
    expect(await stateOf('a')).toMatchObject({ state: 'QUARANTINE', consecutiveFailures: 2 });
  });

  it('latencyMs measures the call and each attempt (a timed-out attempt takes at least timeoutMs)', async () => {
    fake.script('sk-test-a', 'timeout');
    const e = await engine([{ keyId: 'a', priority: 1 }, { keyId: 'b' }], { providers: { openai: { timeoutMs: 300 } } });
    const r = await e.chat('gpt-4o-mini', MSG);
    expect(r.attempts.map((x) => x.outcome)).toEqual(['transient', 'success']);
    expect(r.attempts[0].latencyMs).toBeGreaterThanOrEqual(295);
    expect(Number.isInteger(r.latencyMs)).toBe(true);
    // The call's latency covers both attempts (each rounded to whole ms).
    expect(r.latencyMs).toBeGreaterThanOrEqual(r.attempts[0].latencyMs + r.attempts[1].latencyMs - 2);
  });

  it('classifies timeouts, malformed bodies and resets by error class', async () => {
    fake.script('sk-test-t', 'timeout');
    fake.script('sk-test-m', 'malformed');
    fake.script('sk-test-r', 'reset');
    const e = await engine([{ keyId: 't', priority: 3 }, { keyId: 'm', priority: 2 }, { keyId: 'r', priority: 1 }], { providers: { openai: { timeoutMs: 300 } } });
    const err = (await e.chat('gpt-4o-mini', MSG).catch((x: unknown) => x)) as AllKeysExhaustedError;
    expect(err.attempts.map((a) => [a.keyId, a.errorClass])).toEqual([
      ['t', 'ProviderTimeoutError'],
      ['m', 'ProviderTransportError'],
      ['r', 'ProviderTransportError'],
    ]);
  });

  it('a success resets the consecutive failure count', async () => {
    fake.script('sk-test-a', 'server_error', 'ok');
    const e = await engine([{ keyId: 'a', priority: 1 }, { keyId: 'b' }], { providers: { openai: { maxConsecutiveFailures: 2 } }, strategy: 'priority' });
    await e.chat('gpt-4o-mini', MSG);
    expect((await stateOf('a'))?.consecutiveFailures).toBe(1);
    await e.chat('gpt-4o-mini', MSG);
    expect(await stateOf('a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0 });
  });

  it.each(['bad_request', 'context_length'] as const)('a %s (the caller’s fault) is not retried on another key and does not harm the key', async (b) => {
    fake.script('sk-test-a', b);
    const e = await engine([{ keyId: 'a', priority: 1 }, { keyId: 'b' }]);
    const err = await e.chat('gpt-4o-mini', MSG).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ProviderBadRequestError);
    expect((err as ProviderBadRequestError).status).toBe(400);
    expect(fake.hits('sk-test-b')).toBe(0);
    expect(await stateOf('a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0 });
  });

  it('an insufficient_quota 429 cools the key like a rate limit', async () => {
    fake.script('sk-test-a', 'quota');
    const e = await engine([{ keyId: 'a', priority: 1 }, { keyId: 'b' }]);
    const r = await e.chat('gpt-4o-mini', MSG);
    expect(r.attempts[0].outcome).toBe('rate_limit');
    expect((await stateOf('a'))?.state).toBe('COOLDOWN');
  });

  it("the caller's AbortSignal cancels the call and counts no failure", async () => {
    fake.script('sk-test-a', 'timeout');
    const e = await engine([{ keyId: 'a' }], { providers: { openai: { timeoutMs: 30_000 } } });
    const ctrl = new AbortController();
    const p = e.chat('gpt-4o-mini', MSG, { signal: ctrl.signal });
    await waitFor(() => fake.requests.length === 1);
    ctrl.abort();
    await expect(p).rejects.toBeInstanceOf(CallCancelledError);
    expect(await stateOf('a')).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });
    await expect(e.chat('gpt-4o-mini', MSG, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(CallCancelledError);
  });

  it('when every key is benched: NoAvailableKeyError with the soonest return time, or a wait within maxWaitMs', async () => {
    fake.script('sk-test-a', { status: 429, headers: { 'retry-after': '10' } }, 'ok');
    const e = await engine([{ keyId: 'a' }]);
    await expect(e.chat('gpt-4o-mini', MSG)).rejects.toBeInstanceOf(AllKeysExhaustedError);
    const err = (await e.chat('gpt-4o-mini', MSG).catch((x: unknown) => x)) as NoAvailableKeyError;
    expect(err).toBeInstanceOf(NoAvailableKeyError);
    expect(err).not.toBeInstanceOf(AllKeysExhaustedError);
    expect(err.retryAfterMs).toBe(10_000);
    // Too short a wait fails at once; a long enough one waits for the key.
    await expect(e.chat('gpt-4o-mini', MSG, { maxWaitMs: 5000 })).rejects.toBeInstanceOf(NoAvailableKeyError);
    const waiting = e.chat('gpt-4o-mini', MSG, { maxWaitMs: 15_000 });
    await waitFor(() => clock.pending === 1);
    clock.advance(10_000);
    const r = await waiting;
    expect(r.keyId).toBe('a');
    expect(fake.hits('sk-test-a')).toBe(2);
  });

  it('a model no key serves is a clear error', async () => {
    const e = await engine([{ keyId: 'a' }]);
    await expect(e.chat('gpt-unknown', MSG)).rejects.toThrow('No configured key serves model "gpt-unknown"');
  });

  it('bad call arguments are rejected before any key is used', async () => {
    const e = await engine([{ keyId: 'a' }]);
    await expect(e.chat('gpt-4o-mini', [])).rejects.toThrow('messages: must be a non-empty array');
    await expect(e.chat('gpt-4o-mini', [{ role: 'robot', content: 'x' } as never])).rejects.toThrow('messages[0].role');
    expect(fake.requests).toHaveLength(0);
  });

  it('multi-part text content is sent as content parts', async () => {
    const e = await engine([{ keyId: 'a' }]);
    await e.chat('gpt-4o-mini', [{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }]);
    expect((fake.requests[0].json as { messages: unknown }).messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
    ]);
  });

  it('rateLimitRpm is enforced client-side: a key at its limit for the minute is skipped', async () => {
    const e = await engine([{ keyId: 'a', priority: 1, rateLimitRpm: 2 }, { keyId: 'b' }], { strategy: 'priority' });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await e.chat('gpt-4o-mini', MSG)).keyId);
    expect(ids).toEqual(['a', 'a', 'b']);
    clock.advance(60_000);
    expect((await e.chat('gpt-4o-mini', MSG)).keyId).toBe('a');
  });

  it('rateLimitTpm counts reported tokens', async () => {
    const e = await engine([{ keyId: 'a', priority: 1, rateLimitTpm: 20 }, { keyId: 'b' }], { strategy: 'priority' });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await e.chat('gpt-4o-mini', MSG)).keyId); // 12 tokens a call
    expect(ids).toEqual(['a', 'a', 'b']);
  });

  it('enabled: false keeps a key out of rotation as DISABLED', async () => {
    const e = await engine([{ keyId: 'a', enabled: false, priority: 9 }, { keyId: 'b' }]);
    expect((await e.chat('gpt-4o-mini', MSG)).keyId).toBe('b');
    expect((await stateOf('a'))?.state).toBe('DISABLED');
  });
});

describe('strategies through chat()', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await OpenAiFake.start();
  });
  afterAll(() => fake.close());

  async function picks(opts: Partial<LlmRotateOptions>, keys: TestKey[], n: number, random?: () => number): Promise<string[]> {
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, keys, opts), { random, logger: recordingLogger().logger });
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await lr.chat('gpt-4o-mini', MSG)).keyId);
    await lr.close();
    return out;
  }

  it('round_robin takes each key in turn', async () => {
    expect(await picks({ strategy: 'round_robin' }, [{ keyId: 'a' }, { keyId: 'b' }, { keyId: 'c' }], 6)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('priority takes the highest priority; `priorities` overrides the registry', async () => {
    expect(await picks({ strategy: 'priority' }, [{ keyId: 'a', priority: 1 }, { keyId: 'b', priority: 5 }], 3)).toEqual(['b', 'b', 'b']);
    expect(await picks({ strategy: 'priority', priorities: { a: 10 } }, [{ keyId: 'a', priority: 1 }, { keyId: 'b', priority: 5 }], 2)).toEqual(['a', 'a']);
  });

  it('weighted picks in proportion to weight', async () => {
    // Draws 0.1, 0.3, 0.6, 0.9 of the total weight. With a=1, b=3 (total 4: a=[0,1), b=[1,4)) they pick a,b,b,b;
    // uniform weights would pick a,a,b,b and swapped weights a,a,a,b, so only honoured weights pass.
    const seq = [0.1, 0.3, 0.6, 0.9];
    const draws = () => {
      let i = 0;
      return () => seq[i++ % seq.length];
    };
    expect(await picks({ strategy: 'weighted' }, [{ keyId: 'a', weight: 1 }, { keyId: 'b', weight: 3 }], 4, draws())).toEqual(['a', 'b', 'b', 'b']);
    expect(await picks({ strategy: 'weighted' }, [{ keyId: 'a', weight: 3 }, { keyId: 'b', weight: 1 }], 4, draws())).toEqual(['a', 'a', 'a', 'b']);
  });

  it('health_aware spreads load over equal keys and prefers priority', async () => {
    expect(await picks({}, [{ keyId: 'a' }, { keyId: 'b' }], 4)).toEqual(['a', 'b', 'a', 'b']);
    expect(await picks({}, [{ keyId: 'a' }, { keyId: 'b', priority: 1 }], 3)).toEqual(['b', 'b', 'b']);
  });
});
