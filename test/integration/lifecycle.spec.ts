import { Test } from '@nestjs/testing';
import { AsyncResource, createHook } from 'node:async_hooks';
import { ClosedError, LlmRotate, LlmRotateModule, LlmRotateService } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { makeOptions, recordingLogger } from '../support/options';

const MSG = [{ role: 'user' as const, content: 'hi' }];

/**
 * Tracks the handles (timers, sockets, servers) that `fn` causes (its async descendants only, so another
 * suite's leftovers do not count) and returns those still keeping the process alive afterwards: what
 * `jest --detectOpenHandles` would report, as an assertion.
 */
async function handlesLeftBy(fn: () => Promise<void>): Promise<string[]> {
  const root = new AsyncResource('LifecycleProbe');
  const ours = new Set<number>([root.asyncId()]);
  const alive = new Map<number, { type: string; resource: { hasRef?: () => boolean } }>();
  const hook = createHook({
    init(id, type, trigger, resource) {
      if (!ours.has(trigger)) return;
      ours.add(id);
      if (type !== 'PROMISE') alive.set(id, { type, resource: resource as { hasRef?: () => boolean } });
    },
    destroy(id) {
      alive.delete(id);
    },
  });
  hook.enable();
  try {
    await root.runInAsyncScope(fn);
    // Let closed sockets and cleared timers be collected by the event loop.
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  } finally {
    hook.disable();
  }
  // Only what keeps the process alive counts (Node's and undici's own unref'd timers do not).
  return [...alive.values()].filter((h) => typeof h.resource.hasRef === 'function' && h.resource.hasRef()).map((h) => h.type);
}

describe('lifecycle (no global state, nothing left open)', () => {
  it('close() is idempotent and every later call throws ClosedError', async () => {
    const fake = await OpenAiFake.start();
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }]), { logger: recordingLogger().logger });
    await lr.chat('gpt-4o-mini', MSG);
    await Promise.all([lr.close(), lr.close()]);
    await lr.close();
    await expect(lr.chat('gpt-4o-mini', MSG)).rejects.toBeInstanceOf(ClosedError);
    await expect(lr.acquire('openai')).rejects.toBeInstanceOf(ClosedError);
    await expect(lr.stream('gpt-4o-mini', MSG).next()).rejects.toBeInstanceOf(ClosedError);
    expect(() => lr.reload(makeOptions(fake.baseUrl, [{ keyId: 'a' }]))).toThrow(ClosedError);
    await fake.close();
  });

  it('a Nest app that called, streamed and lent a key leaves no handle open after app.close()', async () => {
    const fake = await OpenAiFake.start();
    const leaked = await handlesLeftBy(async () => {
    const mod = await Test.createTestingModule({ imports: [LlmRotateModule.forRoot(makeOptions(fake.baseUrl, [{ keyId: 'a' }, { keyId: 'b' }]))] }).compile();
    const app = mod.createNestApplication({ logger: false });
    await app.init();
    const svc = app.get(LlmRotateService);
    await svc.chat('gpt-4o-mini', MSG);
    for await (const _ of svc.stream('gpt-4o-mini', MSG));
    await svc.withKey('openai', {}, () => undefined);
    await app.close();
    // The upstream goes away too, so pooled keep-alive connections to it close.
    await fake.close();
    });
    expect(leaked).toEqual([]);
  });

  it('two engines in one process are independent', async () => {
    const fake = await OpenAiFake.start();
    fake.script('sk-test-a', 'rate_limit', 'ok');
    const one = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }]), { logger: recordingLogger().logger });
    const two = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }]), { logger: recordingLogger().logger });
    expect((await one.chat('gpt-4o-mini', MSG)).keyId).toBe('b');
    expect((await two.chat('gpt-4o-mini', MSG)).keyId).toBe('a');
    await Promise.all([one.close(), two.close(), fake.close()]);
  });

  describe('close() drains calls in flight', () => {
    it('a stream in flight finishes, a call arriving during the drain is served, then calls are refused', async () => {
      const fake = await OpenAiFake.start({ reply: 'one two three four', gapMs: 30 });
      const log = recordingLogger();
      const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }]), { logger: log.logger });
      const it = lr.stream('gpt-4o-mini', MSG)[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.done).toBe(false);
      expect(lr.callsInFlight).toBe(1);
      let closed = false;
      const closing = lr.close({ drainTimeoutMs: 10_000 }).then(() => (closed = true));
      // Still serving while draining: a call that arrives now (the HTTP server has not stopped yet) is answered.
      expect((await lr.chat('gpt-4o-mini', MSG)).content).toBe('one two three four');
      expect(closed).toBe(false);
      let text = first.value?.delta ?? '';
      for (let r = await it.next(); !r.done; r = await it.next()) text += r.value.delta;
      expect(text).toBe('one two three four');
      await closing;
      expect(lr.callsInFlight).toBe(0);
      await expect(lr.chat('gpt-4o-mini', MSG)).rejects.toBeInstanceOf(ClosedError);
      expect(log.lines.filter((l) => l.includes('still in flight'))).toEqual([]);
      await fake.close();
    });

    it('a lent key counts until it is settled; the drain is bounded by drainTimeoutMs (and says so)', async () => {
      const fake = await OpenAiFake.start();
      const log = recordingLogger();
      const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }], { shutdownTimeoutMs: 60_000 }), { logger: log.logger });
      const ctx = await lr.acquire('openai');
      expect(lr.callsInFlight).toBe(1);
      const t0 = Date.now();
      await lr.close({ drainTimeoutMs: 80 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
      expect(log.lines.some((l) => l.startsWith('warn') && l.includes('1 call(s) still in flight after 80 ms'))).toBe(true);
      await ctx.reportSuccess();
      expect(lr.callsInFlight).toBe(0);
      await fake.close();
    });

    it('close() without a deadline uses the shutdownTimeoutMs option', async () => {
      const fake = await OpenAiFake.start();
      const log = recordingLogger();
      const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a' }], { shutdownTimeoutMs: 50 }), { logger: log.logger });
      await lr.acquire('openai');
      await lr.close();
      expect(log.lines.some((l) => l.includes('still in flight after 50 ms'))).toBe(true);
      await fake.close();
    });
  });
});
