import { Test } from '@nestjs/testing';
import { firstValueFrom, toArray } from 'rxjs';
import { AllKeysExhaustedError, CallCancelledError, LlmRotate, LlmRotateModule, LlmRotateService, ProviderHttpError, StreamInterruptedError } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { makeOptions, recordingLogger, type TestKey } from '../../support/options';
import { waitFor } from '../../support/wait';
import { collect } from '../../support/engine';

const MSG = [{ role: 'user' as const, content: 'hi' }];

describe('stream()', () => {
  let fake: OpenAiFake;
  let lr: LlmRotate | undefined;
  beforeEach(async () => {
    fake = await OpenAiFake.start({ reply: 'one two three four five', gapMs: 5 });
  });
  afterEach(async () => {
    await lr?.close();
    lr = undefined;
    await fake.close();
  });
  async function engine(keys: TestKey[], extra: Parameters<typeof makeOptions>[2] = {}): Promise<LlmRotate> {
    lr = await LlmRotate.create(makeOptions(fake.baseUrl, keys, extra), { logger: recordingLogger().logger });
    return lr;
  }
  const leases = async () => (await (lr as LlmRotate).snapshot()).keys.reduce((n, k) => n + k.leasesInUse, 0);

  it('yields deltas as they arrive; the last chunk carries finishReason and usage; each names provider and key', async () => {
    const e = await engine([{ keyId: 'a' }]);
    const chunks = await collect(e.stream('gpt-4o-mini', MSG));
    expect(chunks.map((c) => c.delta).join('')).toBe('one two three four five');
    expect(chunks.length).toBeGreaterThan(3);
    const last = chunks[chunks.length - 1];
    expect(last).toMatchObject({ finishReason: 'stop', usage: { inputTokens: 9, outputTokens: 5 } });
    expect(chunks.slice(0, -1).every((c) => c.finishReason === undefined && c.usage === undefined)).toBe(true);
    expect(chunks.every((c) => c.provider === 'openai' && c.keyId === 'a' && c.model === 'gpt-4o-mini')).toBe(true);
    expect(fake.requests[0].json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(await leases()).toBe(0);
  });

  it('fails over before the first chunk (429, 401, 500, timeout, malformed event)', async () => {
    fake.script('sk-test-a', 'rate_limit');
    fake.script('sk-test-b', 'auth');
    fake.script('sk-test-c', 'server_error');
    fake.script('sk-test-d', 'timeout');
    const e = await engine(
      [{ keyId: 'a', priority: 5 }, { keyId: 'b', priority: 4 }, { keyId: 'c', priority: 3 }, { keyId: 'd', priority: 2 }, { keyId: 'e' }],
      { providers: { openai: { timeoutMs: 300 } }, strategy: 'priority' },
    );
    const chunks = await collect(e.stream('gpt-4o-mini', MSG));
    expect(new Set(chunks.map((c) => c.keyId))).toEqual(new Set(['e']));
    const snap = await e.snapshot();
    expect(Object.fromEntries(snap.keys.map((k) => [k.keyId, k.state]))).toEqual({ a: 'COOLDOWN', b: 'QUARANTINE', c: 'ACTIVE', d: 'ACTIVE', e: 'ACTIVE' });
    expect(snap.keys.find((k) => k.keyId === 'c')?.consecutiveFailures).toBe(1);
  });

  it('an error after the first chunk is reported against the key and surfaced, not failed over', async () => {
    fake.script('sk-test-a', 'stream_error_midway');
    const e = await engine([{ keyId: 'a', priority: 1 }, { keyId: 'b' }]);
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of e.stream('gpt-4o-mini', MSG)) got.push(c.delta);
    })().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(StreamInterruptedError);
    expect(err).toMatchObject({ provider: 'openai', keyId: 'a', kind: 'transient' });
    expect((err as Error).cause).toBeInstanceOf(ProviderHttpError);
    expect(((err as Error).cause as ProviderHttpError).status).toBe(502);
    expect(got.join('')).toBe('one two ');
    expect(fake.hits('sk-test-b')).toBe(0);
    const a = (await e.snapshot()).keys.find((k) => k.keyId === 'a');
    expect(a).toMatchObject({ consecutiveFailures: 1, leasesInUse: 0 });
  });

  it.each([
    ['stream_error_first', 'transient'],
    ['stream_malformed', 'transient'],
  ] as const)('%s (before any text) fails over like an HTTP error', async (behavior, outcome) => {
    fake.script('sk-test-a', behavior);
    const e = await engine([{ keyId: 'a', priority: 1 }, { keyId: 'b' }]);
    const outcomes: string[] = [];
    e.onUsage((ev) => outcomes.push(`${ev.keyId}:${ev.outcome}`));
    const chunks = await collect(e.stream('gpt-4o-mini', MSG));
    expect(new Set(chunks.map((c) => c.keyId))).toEqual(new Set(['b']));
    expect(outcomes).toEqual([`a:${outcome}`, 'b:success']);
  });

  it('breaking out of the loop cancels the upstream request and releases the key', async () => {
    const slow = await OpenAiFake.start({ reply: 'w '.repeat(200).trim(), gapMs: 20 });
    try {
      lr = await LlmRotate.create(makeOptions(slow.baseUrl, [{ keyId: 'a' }]), { logger: recordingLogger().logger });
      const events: string[] = [];
      lr.onUsage((ev) => events.push(ev.outcome));
      let n = 0;
      for await (const c of lr.stream('gpt-4o-mini', MSG)) {
        expect(c.delta).toBe('w ');
        if (++n === 3) break;
      }
      expect(await leases()).toBe(0);
      expect(events).toEqual(['cancelled']);
      const a = (await lr.snapshot()).keys[0];
      expect(a).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0 });
      // The server sees the connection go away long before its 200 events are written.
      await waitFor(() => slow.http.abortedResponses === 1);
    } finally {
      await slow.close();
    }
  });

  it("aborting the caller's signal mid-stream throws CallCancelledError and counts nothing", async () => {
    const slow = await OpenAiFake.start({ reply: 'w '.repeat(200).trim(), gapMs: 20 });
    try {
      lr = await LlmRotate.create(makeOptions(slow.baseUrl, [{ keyId: 'a' }]), { logger: recordingLogger().logger });
      const ctrl = new AbortController();
      let n = 0;
      const err = await (async () => {
        for await (const _ of lr!.stream('gpt-4o-mini', MSG, { signal: ctrl.signal })) if (++n === 2) ctrl.abort();
      })().catch((x: unknown) => x);
      expect(err).toBeInstanceOf(CallCancelledError);
      expect(n).toBe(2);
      await waitFor(() => slow.http.abortedResponses === 1);
      expect((await lr.snapshot()).keys[0]).toMatchObject({ state: 'ACTIVE', consecutiveFailures: 0, leasesInUse: 0 });
    } finally {
      await slow.close();
    }
  });

  it('all keys failing before the first chunk gives AllKeysExhaustedError', async () => {
    fake.script('sk-test-a', 'rate_limit');
    const e = await engine([{ keyId: 'a' }]);
    await expect(collect(e.stream('gpt-4o-mini', MSG))).rejects.toBeInstanceOf(AllKeysExhaustedError);
  });
});

describe('LlmRotateService.stream$ (rxjs)', () => {
  it('emits the chunks and completes; unsubscribing cancels the upstream and releases the key', async () => {
    const fake = await OpenAiFake.start({ reply: 'w '.repeat(300).trim(), gapMs: 10 });
    const mod = await Test.createTestingModule({ imports: [LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'a' }]))] }).compile();
    const app = mod.createNestApplication({ logger: false });
    await app.init();
    const svc = app.get(LlmRotateService);
    try {
      const short = await OpenAiFake.start({ reply: 'a b c' });
      await svc.reload(makeOptions(short.baseUrl, [{ keyId: 'a' }]));
      const all = await firstValueFrom(svc.stream$('gpt-4o-mini', MSG).pipe(toArray()));
      expect(all.map((c) => c.delta).join('')).toBe('a b c');
      const sse = await firstValueFrom(svc.sse$('gpt-4o-mini', MSG).pipe(toArray()));
      expect(sse.at(-1)).toMatchObject({ data: { finishReason: 'stop' } });
      await short.close();

      await svc.reload(makeOptions(fake.baseUrl, [{ keyId: 'a' }]));
      const outcomes: string[] = [];
      svc.usage$.subscribe((ev) => outcomes.push(ev.outcome));
      let seen = 0;
      const sub = svc.stream$('gpt-4o-mini', MSG).subscribe(() => {
        seen++;
      });
      await waitFor(() => seen >= 3);
      sub.unsubscribe();
      await waitFor(() => outcomes.length === 1);
      await waitFor(() => fake.http.abortedResponses === 1);
      expect(outcomes).toEqual(['cancelled']);
      expect((await svc.snapshot()).keys[0].leasesInUse).toBe(0);
    } finally {
      await app.close();
      await fake.close();
    }
  });
});
