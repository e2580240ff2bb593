import { fork, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { StateStoreOptions, StoreHealth } from '../../lib';
import type { TestKey } from './options';

const ROOT = join(__dirname, '../..');

/** Every child process a test started and that has not exited yet (see {@link killChildren}); killed at exit too. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function track(proc: ChildProcess): ChildProcess {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  return proc;
}

/** SIGKILL, resolved once the process is gone (at once if it already is). */
function killProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

/** Kills every child process still running: call it in afterEach/afterAll so a failing test never leaves one behind. */
export async function killChildren(): Promise<void> {
  await Promise.all([...live].map(killProc));
}

/** Resolves with the first message of `proc`, rejects when it exits first or after `ms`. */
function nextMessage<T>(proc: ChildProcess, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      proc.off('message', onMessage);
      proc.off('exit', onExit);
    };
    const onMessage = (m: unknown): void => {
      done();
      resolve(m as T);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`${what}: the worker exited (${code})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no answer within ${ms} ms`));
    }, ms);
    proc.on('message', onMessage);
    proc.once('exit', onExit);
  });
}

export interface ChatBatch {
  done: string[];
  attempts: string[][];
  errors: string[];
}

/** A worker process (test/support/worker.child.ts): its own Nest app, driven over IPC. */
export class Worker {
  private constructor(
    private readonly proc: ChildProcess,
    readonly store: StoreHealth,
  ) {}

  static async start(baseUrl: string, keys: TestKey[], stateStore: StateStoreOptions): Promise<Worker> {
    const proc = track(
      fork(join(ROOT, 'test/support/worker.child.ts'), [JSON.stringify({ baseUrl, keys, stateStore })], {
        cwd: ROOT,
        execArgv: ['-r', '@swc-node/register'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
    try {
      const ready = await nextMessage<{ store: StoreHealth }>(proc, 60_000, 'worker start');
      return new Worker(proc, ready.store);
    } catch (e) {
      await killProc(proc);
      throw e;
    }
  }

  /** `n` chat() calls, one after the other, in the worker (fails after `timeoutMs` instead of hanging). */
  chat(n: number, timeoutMs = 60_000): Promise<ChatBatch> {
    const answer = nextMessage<ChatBatch>(this.proc, timeoutMs, `chat(${n})`);
    this.proc.send({ cmd: 'chat', n });
    return answer;
  }

  /** Nest shutdown in the worker, then the process ends (killed if it does not within 10 s). */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
      this.proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.proc.send({ cmd: 'close' });
    });
  }

  kill(): Promise<void> {
    return killProc(this.proc);
  }
}

/** test/support/redis-lease.child.ts: a process that takes one lease and waits to be killed (a crashed worker). */
export class LeaseChild {
  private constructor(
    private readonly proc: ChildProcess,
    readonly took: { token: string | null; health: string },
  ) {}

  static async start(redisUrl: string, namespace: string, keyId: string, maxConcurrent: number, ttlMs: number, timeoutMs = 30_000): Promise<LeaseChild> {
    const proc = track(
      spawn(process.execPath, ['-r', '@swc-node/register', 'test/support/redis-lease.child.ts', redisUrl, namespace, keyId, String(maxConcurrent), String(ttlMs)], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`the lease child printed nothing within ${timeoutMs} ms`)), timeoutMs);
        proc.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) {
            clearTimeout(timer);
            resolve(out.split('\n')[0]);
          }
        });
        proc.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the lease child exited (${code})`));
        });
      });
      return new LeaseChild(proc, JSON.parse(line) as { token: string | null; health: string });
    } catch (e) {
      await killProc(proc);
      throw e;
    }
  }

  /** The crash: SIGKILL (resolves once it is gone; harmless when already dead). */
  kill(): Promise<void> {
    return killProc(this.proc);
  }
}
