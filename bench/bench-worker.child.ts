/**
 * One worker process of the many-workers benchmark (bench/workers.bench.ts): its own engine on the store given,
 * driven by its parent over IPC. argv[2]: JSON {@link WorkerConfig}. In: `{ cmd: 'go', ms }` (a run; the first one
 * warms the process up), `{ cmd: 'close' }`. Out: `{ ready: true }`, then `{ calls, errors, p50us, p99us, cpuUs }` per run.
 */
import { performance } from 'node:perf_hooks';
import { LlmRotate, type LlmRotateOptions, type StateStoreOptions } from '../lib';

export interface WorkerConfig {
  baseUrl: string;
  stateStore: StateStoreOptions;
  keys: Array<{ keyId: string; secret: string; maxConcurrent?: number }>;
  callers: number;
  /** `chat`: chat() against the upstream; `store`: acquire + reportSuccess, no HTTP (the store's own ceiling). */
  mode: 'chat' | 'store';
}

export interface WorkerResult {
  /** Times the store turned `degraded` (Redis did not answer within commandTimeoutMs) during the run. */
  degraded: number;
  calls: number;
  errors: number;
  p50us: number;
  p99us: number;
  cpuUs: number;
}

let degraded = 0;
const LOGGER = {
  warn: (m: string): void => {
    if (/state store unreachable/.test(m)) degraded++;
  },
  error: () => undefined,
};

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]) as WorkerConfig;
  const options: LlmRotateOptions = {
    registry: {
      keys: cfg.keys.map((k) => ({ keyId: k.keyId, provider: 'openai' as const, secretRef: `literal://${k.secret}`, models: ['gpt-4o-mini'], baseUrl: cfg.baseUrl, maxConcurrent: k.maxConcurrent })),
      stateStore: cfg.stateStore,
    },
    useKeys: cfg.keys.map((k) => k.keyId),
  };
  const lr = await LlmRotate.create(options, { logger: LOGGER });
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const call =
    cfg.mode === 'chat'
      ? async (): Promise<void> => {
          await lr.chat('gpt-4o-mini', messages, { maxWaitMs: 5000 });
        }
      : async (): Promise<void> => {
          const ctx = await lr.acquire('openai', { maxWaitMs: 5000 });
          await ctx.reportSuccess({ inputTokens: 9, outputTokens: 3 });
        };
  process.on('message', async (m: { cmd: string; ms?: number }) => {
    if (m.cmd === 'go') {
      const lat: number[] = [];
      let errors = 0;
      degraded = 0;
      const c0 = process.cpuUsage();
      const end = performance.now() + (m.ms ?? 1000);
      await Promise.all(
        Array.from({ length: cfg.callers }, async () => {
          while (performance.now() < end) {
            const t0 = performance.now();
            try {
              await call();
              lat.push(performance.now() - t0);
            } catch {
              errors++;
            }
          }
        }),
      );
      const cpu = process.cpuUsage(c0);
      lat.sort((a, b) => a - b);
      const q = (p: number): number => (lat.length === 0 ? 0 : lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] * 1000);
      const out: WorkerResult = { degraded, calls: lat.length, errors, p50us: q(0.5), p99us: q(0.99), cpuUs: cpu.user + cpu.system };
      process.send?.(out);
    } else if (m.cmd === 'close') {
      await lr.close();
      process.exit(0);
    }
  });
  process.send?.({ ready: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`bench worker failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
