import { performance } from 'node:perf_hooks';
import { LlmRotate, type LlmRotateOptions } from '../lib';
import { OpenAiFake } from '../test/fakes/openai-fake';

/**
 * What the library adds to a call: chat() through the engine (memory store, 10 keys) against the same request made
 * with a bare fetch, both to one local OpenAI-format fake on 127.0.0.1, sequentially. The difference of the
 * medians is the engine's own cost per call (plan, select+lease, secret, request building, parse, report, event).
 */
export async function engineOverhead(calls = 3000): Promise<{ rawP50: number; chatP50: number; rawP99: number; chatP99: number }> {
  const fake = await OpenAiFake.start();
  const keys = Array.from({ length: 10 }, (_, i) => ({ keyId: `k${i}`, provider: 'openai' as const, secretRef: `literal://sk-bench-${i}`, models: ['gpt-4o-mini'], baseUrl: fake.baseUrl }));
  const options: LlmRotateOptions = { registry: { keys }, useKeys: keys.map((k) => k.keyId) };
  const lr = await LlmRotate.create(options, { logger: { warn: () => undefined, error: () => undefined } });
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages });
  const raw = async (): Promise<void> => {
    const r = await fetch(`${fake.baseUrl}/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-bench-0', 'content-type': 'application/json' }, body });
    JSON.parse(await r.text());
  };
  const viaEngine = async (): Promise<void> => {
    await lr.chat('gpt-4o-mini', messages);
  };
  const time = async (fn: () => Promise<void>): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await fn();
      out.push(performance.now() - t0);
    }
    return out.sort((a, b) => a - b);
  };
  // Warm both paths, then interleave rounds so machine noise hits both alike.
  await time(raw);
  await time(viaEngine);
  fake.requests.length = 0;
  const rawRuns: number[] = [];
  const chatRuns: number[] = [];
  for (let round = 0; round < 3; round++) {
    rawRuns.push(...(await time(raw)));
    chatRuns.push(...(await time(viaEngine)));
    fake.requests.length = 0;
  }
  rawRuns.sort((a, b) => a - b);
  chatRuns.sort((a, b) => a - b);
  await lr.close();
  await fake.close();
  const q = (a: number[], p: number) => a[Math.min(a.length - 1, Math.floor(a.length * p))] * 1000;
  return { rawP50: q(rawRuns, 0.5), chatP50: q(chatRuns, 0.5), rawP99: q(rawRuns, 0.99), chatP99: q(chatRuns, 0.99) };
}

if (require.main === module) {
  engineOverhead().then((r) => console.log(r));
}
