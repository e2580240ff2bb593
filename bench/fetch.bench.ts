import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { LlmRotate, type LlmRotateOptions } from '../lib';
import { OpenAiSdkFake } from '../test/fakes/sdk/openai-sdk-fake';

export interface FetchBenchRow {
  request: string;
  plainP50: number;
  plainP99: number;
  rotatingP50: number;
  rotatingP99: number;
}

/**
 * What `fetchFor()` adds to a client's request: the same `openai` client, built once with Node's own fetch and once
 * with `fetch: llm.fetchFor('openai')` (memory store, 10 keys), against one local OpenAI-format fake on 127.0.0.1.
 * Calls alternate between the two clients one by one, so machine noise hits both alike. Per call the rotating fetch
 * reads the body once, finds the model, leases a key, places its credential, classifies the answer, wraps the body
 * and settles with the tokens it read (JSON, or the SSE stream with usage).
 */
export async function fetchOverhead(calls = 2000): Promise<FetchBenchRow[]> {
  const fake = await OpenAiSdkFake.start({ gapMs: 0 });
  const keys = Array.from({ length: 10 }, (_, i) => ({ keyId: `k${i}`, provider: 'openai' as const, secretRef: `literal://sk-bench-${i}`, models: ['gpt-4o-mini', 'text-embedding-3-small'] }));
  const options: LlmRotateOptions = { registry: { keys }, useKeys: keys.map((k) => k.keyId) };
  const lr = await LlmRotate.create(options, { logger: { warn: () => undefined, error: () => undefined } });
  const plain = new OpenAI({ apiKey: 'sk-bench-0', baseURL: fake.baseUrl, maxRetries: 0 });
  const rotating = new OpenAI({ apiKey: 'managed', baseURL: fake.baseUrl, fetch: lr.fetchFor('openai'), maxRetries: 0 });
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const kinds: Array<[string, (c: OpenAI) => Promise<unknown>]> = [
    ['chat.completions.create (JSON)', (c) => c.chat.completions.create({ model: 'gpt-4o-mini', messages })],
    [
      'chat.completions.create (stream, with usage)',
      async (c) => {
        const s = await c.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
        for await (const chunk of s) void chunk;
      },
    ],
    ['embeddings.create (2 inputs, base64)', (c) => c.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'abc'] })],
  ];
  const rows: FetchBenchRow[] = [];
  try {
    // Warm every path of both clients first (JIT, connection pool), then measure.
    for (let i = 0; i < 300; i++) for (const [, call] of kinds) for (const c of [plain, rotating]) await call(c);
    fake.requests.length = 0;
    for (const [request, call] of kinds) {
      const a: number[] = [];
      const b: number[] = [];
      const timed = async (c: OpenAI, out: number[]): Promise<void> => {
        const t0 = performance.now();
        await call(c);
        out.push(performance.now() - t0);
      };
      for (let i = 0; i < calls; i++) {
        // Alternate which goes first, so neither always runs on a warmer connection.
        if (i % 2 === 0) {
          await timed(plain, a);
          await timed(rotating, b);
        } else {
          await timed(rotating, b);
          await timed(plain, a);
        }
        if (i % 500 === 0) fake.requests.length = 0;
      }
      fake.requests.length = 0;
      a.sort((x, y) => x - y);
      b.sort((x, y) => x - y);
      const q = (s: number[], p: number): number => s[Math.min(s.length - 1, Math.floor(s.length * p))] * 1000;
      rows.push({ request, plainP50: q(a, 0.5), plainP99: q(a, 0.99), rotatingP50: q(b, 0.5), rotatingP99: q(b, 0.99) });
    }
  } finally {
    await lr.close();
    await fake.close();
  }
  return rows;
}

export function fetchTable(rows: readonly FetchBenchRow[]): string {
  const f = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  const lines = ['| request (openai client) | plain fetch p50 / p99 µs | fetchFor p50 / p99 µs | added at p50 µs |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.request} | ${f(r.plainP50)} / ${f(r.plainP99)} | ${f(r.rotatingP50)} / ${f(r.rotatingP99)} | ${f(r.rotatingP50 - r.plainP50)} |`);
  return lines.join('\n');
}

if (require.main === module) {
  fetchOverhead(Number(process.argv[2] ?? 2000)).then((rows) => console.log(fetchTable(rows)));
}
