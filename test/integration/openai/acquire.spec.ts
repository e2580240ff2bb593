import { inspect } from 'node:util';
import OpenAI from 'openai';
import { AcquireContext, LlmRotate, NoAvailableKeyError } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { FakeClock } from '../../support/fake-clock';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { waitFor } from '../../support/wait';

describe('acquire() / AcquireContext / withKey() with the official openai SDK', () => {
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
  const key = async (id: string) => (await (lr as LlmRotate).snapshot()).keys.find((k) => k.keyId === id);
  const sdk = (ctx: AcquireContext) => new OpenAI({ apiKey: ctx.keyValue, baseURL: ctx.baseUrl, maxRetries: 0 });

  it('lends a key for a direct SDK call; reportSuccess feeds health and frees the lease', async () => {
    const e = await engine([{ keyId: 'a', metadata: { team: 'search' } }]);
    const ctx = await e.acquire('openai', { model: 'gpt-4o-mini' });
    expect(ctx).toMatchObject({ provider: 'openai', keyId: 'a', model: 'gpt-4o-mini', metadata: { team: 'search' } });
    expect(ctx.keyValue).toBe('sk-test-a');
    expect((await key('a'))?.leasesInUse).toBe(1);
    const out = await sdk(ctx).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(out.choices[0].message.content).toBe('Hello from gpt-4o-mini');
    const events: unknown[] = [];
    e.onUsage((ev) => events.push(ev));
    await ctx.reportSuccess({ inputTokens: out.usage?.prompt_tokens ?? 0, outputTokens: out.usage?.completion_tokens ?? 0 });
    expect(await key('a')).toMatchObject({ state: 'ACTIVE', leasesInUse: 0 });
    expect(events).toEqual([expect.objectContaining({ source: 'acquire', keyId: 'a', outcome: 'success', inputTokens: 9, outputTokens: 3 })]);
    // Settling twice is harmless.
    await ctx.reportError({ kind: 'auth' });
    await ctx.release();
    expect((await key('a'))?.state).toBe('ACTIVE');
  });

  it.each([
    ['rate_limit', 'rate_limit', 'COOLDOWN'],
    ['auth', 'auth', 'QUARANTINE'],
    ['server_error', 'transient', 'ACTIVE'],
    ['bad_request', 'bad_request', 'ACTIVE'],
  ] as const)("reportError classifies the SDK's own error for a %s", async (behavior, kind, state) => {
    fake.script('sk-test-a', behavior);
    const e = await engine([{ keyId: 'a' }]);
    const ctx = await e.acquire('openai');
    const err = await sdk(ctx)
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .catch((x: unknown) => x);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(await ctx.reportError(err)).toBe(kind);
    expect((await key('a'))?.state).toBe(state);
  });

  it("the SDK's 429 retry-after header sets the cooldown", async () => {
    fake.script('sk-test-a', { status: 429, headers: { 'retry-after': '33' }, body: { error: { message: 'Rate limit', type: 'requests' } } });
    const e = await engine([{ keyId: 'a' }]);
    const ctx = await e.acquire('openai');
    const err = await sdk(ctx).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    await ctx.reportError(err);
    expect(Date.parse((await key('a'))?.until as string)).toBe(clock.now() + 33_000);
  });

  it('reportError understands fetch Responses, network errors, aborts and explicit reports', async () => {
    const e = await engine([{ keyId: 'a' }]);
    const res = await fetch(`${fake.url}/nope`, { method: 'POST' }); // 404 → caller's fault
    expect(await (await e.acquire('openai')).reportError(res)).toBe('bad_request');
    const netErr = await fetch('http://127.0.0.1:1/').catch((x: unknown) => x); // ECONNREFUSED
    expect(await (await e.acquire('openai')).reportError(netErr)).toBe('transient');
    const abort = new DOMException('aborted', 'AbortError');
    expect(await (await e.acquire('openai')).reportError(abort)).toBe('cancelled');
    expect((await key('a'))?.consecutiveFailures).toBe(1);
    expect(await (await e.acquire('openai')).reportError({ kind: 'rate_limit', retryAfterMs: 1234 })).toBe('rate_limit');
    expect(Date.parse((await key('a'))?.until as string)).toBe(clock.now() + 1234);
  });

  it('await using releases the key at the end of the block', async () => {
    const e = await engine([{ keyId: 'a', maxConcurrent: 1 }]);
    {
      await using ctx = await e.acquire('openai');
      expect(ctx.keyId).toBe('a');
      expect((await key('a'))?.leasesInUse).toBe(1);
      await expect(e.acquire('openai')).rejects.toBeInstanceOf(NoAvailableKeyError);
    }
    expect((await key('a'))?.leasesInUse).toBe(0);
    await (await e.acquire('openai')).release();
  });

  it('withKey reports success or the thrown error and always releases', async () => {
    fake.script('sk-test-a', 'ok', 'auth');
    const e = await engine([{ keyId: 'a' }]);
    const content = await e.withKey('openai', { model: 'gpt-4o-mini' }, async (ctx) => {
      const r = await sdk(ctx).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
      return r.choices[0].message.content;
    });
    expect(content).toBe('Hello from gpt-4o-mini');
    const err = await e
      .withKey('openai', {}, (ctx) => sdk(ctx).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }))
      .catch((x: unknown) => x);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(await key('a')).toMatchObject({ state: 'QUARANTINE', leasesInUse: 0 });
  });

  it('maxConcurrent bounds lent keys; a context never settled frees its slot when the lease TTL ends', async () => {
    const e = await engine([{ keyId: 'a', maxConcurrent: 1 }], { leaseTtlMs: 10_000 });
    const forgotten = await e.acquire('openai');
    const err = (await e.acquire('openai').catch((x: unknown) => x)) as NoAvailableKeyError;
    expect(err).toBeInstanceOf(NoAvailableKeyError);
    clock.advance(10_000);
    const next = await e.acquire('openai');
    expect(next.keyId).toBe('a');
    // The late release of the expired lease is fenced: it does not free the new holder's slot.
    await forgotten.release();
    expect((await key('a'))?.leasesInUse).toBe(1);
    await expect(e.acquire('openai')).rejects.toBeInstanceOf(NoAvailableKeyError);
    await next.release();
  });

  it('maxWaitMs waits for a busy key to be released', async () => {
    const e = await engine([{ keyId: 'a', maxConcurrent: 1 }]);
    const first = await e.acquire('openai');
    let settled = false;
    const waiting = e.acquire('openai', { maxWaitMs: 1000 }).finally(() => (settled = true));
    // The second caller is asleep waiting for the slot, not failed.
    await waitFor(() => clock.pending === 1);
    expect(settled).toBe(false);
    await first.release();
    clock.advance(50);
    expect((await waiting).keyId).toBe('a');
  });

  it('a lent context never shows its secret in JSON or util.inspect', async () => {
    const e = await engine([{ keyId: 'a' }]);
    const ctx = await e.acquire('openai');
    expect(JSON.stringify(ctx)).not.toContain('sk-test-a');
    expect(inspect(ctx, { depth: 10, showHidden: true })).not.toContain('sk-test-a');
    expect(`${JSON.stringify({ ctx })}`).toContain('"keyId":"a"');
    await ctx.release();
  });

  it('no key of the provider: a clear error', async () => {
    const e = await engine([{ keyId: 'a' }]);
    await expect(e.acquire('anthropic')).rejects.toThrow('No configured key of provider "anthropic"');
  });
});
