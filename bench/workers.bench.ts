import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { StateStoreOptions } from '../lib';
import { OpenAiFake } from '../test/fakes/openai-fake';
import type { WorkerConfig, WorkerResult } from './bench-worker.child';
import { redisCpuSeconds } from './bench-util';

const ROOT = join(__dirname, '..');
const KEYS = 20;
/** Keys that answer 429 (retry-after 300 s) to every request, each with maxConcurrent 1. */
const LIMITED = 2;

export interface WorkersRow {
  store: 'memory' | 'redis';
  mode: 'chat' | 'store';
  workers: number;
  callersPerWorker: number;
  callsPerSec: number;
  errors: number;
  /** Times a worker's store turned degraded during the run (warm-up included). */
  degraded: number;
  p50us: number;
  p99us: number;
  /** Redis server CPU over the run, % of one core. */
  redisCpuPct: number;
  /** Node CPU of all workers over the run, % of one core. */
  workersCpuPct: number;
  /** Requests the 429 keys received, all workers together (per key). */
  limitedHits: number[];
}

function waitMessage<T>(proc: ChildProcess, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    proc.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: worker exited (${code})`));
    });
  });
}

/**
 * `workers` processes, each its own engine on one store (one Redis and namespace, or each its own memory), one key
 * pool of 20 keys of which 2 answer 429, `callers` concurrent callers per worker for `ms`. `chat` mode calls a
 * fake upstream (this process serves it); `store` mode acquires and reports without HTTP (the store's ceiling).
 */
export async function workersBench(
  store: 'memory' | 'redis',
  mode: 'chat' | 'store',
  redisUrl: string,
  workers = 4,
  callers = 16,
  ms = 3000,
  warmMs = 1500,
  commandTimeoutMs = 1000,
): Promise<WorkersRow> {
  const fake = await OpenAiFake.start({ rateLimitHeaders: { 'retry-after': '300' } });
  const limited = Array.from({ length: LIMITED }, (_, i) => `sk-wb-${mode}-${store}-limited-${i}`);
  for (const s of limited) fake.script(s, 'rate_limit');
  const keys: WorkerConfig['keys'] = Array.from({ length: KEYS }, (_, i) =>
    i < LIMITED ? { keyId: `limited-${i}`, secret: limited[i], maxConcurrent: 1 } : { keyId: `k${i}`, secret: `sk-wb-${i}` },
  );
  const namespace = `bench-workers-${store}-${mode}-${Date.now()}`;
  // A 1 s command timeout (default 250 ms): on a loaded 2-core machine a 250 ms stall is common, and a degraded
  // worker serves on its own state — the table counts those episodes; it is about sharing, not about stalls.
  const stateStore: StateStoreOptions = store === 'redis' ? { backend: 'redis', redisUrl, redisNamespace: namespace, commandTimeoutMs } : { backend: 'memory' };
  const cfg: WorkerConfig = { baseUrl: fake.baseUrl, stateStore, keys, callers, mode };
  const admin = new Redis(redisUrl);
  const procs: ChildProcess[] = [];
  try {
    for (let i = 0; i < workers; i++) {
      procs.push(fork(join(ROOT, 'bench/bench-worker.child.ts'), [JSON.stringify(cfg)], { cwd: ROOT, execArgv: ['-r', '@swc-node/register'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    await Promise.all(procs.map((p, i) => waitMessage(p, 60_000, `worker ${i} start`)));
    // A first run warms every process up (JIT, connections); only the second one is measured.
    const warm = await Promise.all(
      procs.map((p, i) => {
        const r = waitMessage<WorkerResult>(p, warmMs + 60_000, `worker ${i} warm-up`);
        p.send({ cmd: 'go', ms: warmMs });
        return r;
      }),
    );
    // Requests to the 429 keys count from the start (the warm-up included): they are the point of the table.
    const hitsBefore = new Map(limited.map((s) => [s, fake.hits(s)]));
    fake.requests.length = 0;
    const cpu0 = await redisCpuSeconds(admin);
    const t0 = Date.now();
    const results = await Promise.all(
      procs.map((p, i) => {
        const r = waitMessage<WorkerResult>(p, ms + 60_000, `worker ${i} run`);
        p.send({ cmd: 'go', ms });
        return r;
      }),
    );
    const wall = (Date.now() - t0) / 1000;
    for (const s of limited) hitsBefore.set(s, (hitsBefore.get(s) as number) + fake.hits(s));
    const cpu = (await redisCpuSeconds(admin)) - cpu0;
    const calls = results.reduce((a, r) => a + r.calls, 0);
    const weighted = (k: 'p50us' | 'p99us'): number => results.reduce((a, r) => a + r[k] * r.calls, 0) / Math.max(1, calls);
    return {
      store,
      mode,
      workers,
      callersPerWorker: callers,
      callsPerSec: Math.round(calls / wall),
      errors: results.reduce((a, r) => a + r.errors, 0),
      degraded: [...warm, ...results].reduce((a, r) => a + r.degraded, 0),
      p50us: weighted('p50us'),
      p99us: weighted('p99us'),
      redisCpuPct: store === 'redis' ? (cpu / wall) * 100 : 0,
      workersCpuPct: (results.reduce((a, r) => a + r.cpuUs, 0) / 1e6 / wall) * 100,
      limitedHits: limited.map((s) => hitsBefore.get(s) as number),
    };
  } finally {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
            p.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            p.send({ cmd: 'close' });
          }),
      ),
    );
    admin.disconnect();
    await fake.close();
  }
}

export function workersTable(rows: WorkersRow[]): string {
  const f = (n: number): string => n.toFixed(0);
  const lines = [
    '| store | what each call does | workers × callers | calls/s, all workers | p50 / p99 µs | errors | store degraded (times) | Redis CPU (% of a core) | workers CPU (% of a core) | requests to each 429 key, all workers |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.store} | ${r.mode === 'chat' ? 'chat() to the fake upstream' : 'acquire + reportSuccess (no HTTP)'} | ${r.workers} × ${r.callersPerWorker} | ${r.callsPerSec} | ${f(r.p50us)} / ${f(r.p99us)} | ${r.errors} | ${r.store === 'redis' ? r.degraded : '—'} | ` +
        `${r.store === 'redis' ? f(r.redisCpuPct) : '—'} | ${f(r.workersCpuPct)} | ${r.mode === 'chat' ? r.limitedHits.join(', ') : '—'} |`,
    );
  }
  return lines.join('\n');
}
