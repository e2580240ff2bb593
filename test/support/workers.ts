import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { StateStoreOptions, StoreHealth } from '../../lib';
import type { TestKey } from './options';

const ROOT = join(__dirname, '../..');

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
    const proc = fork(join(ROOT, 'test/support/worker.child.ts'), [JSON.stringify({ baseUrl, keys, stateStore })], {
      cwd: ROOT,
      execArgv: ['-r', '@swc-node/register'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<{ store: StoreHealth }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('worker did not start within 60 s')), 60_000);
      proc.once('message', (m) => {
        clearTimeout(timer);
        resolve(m as { store: StoreHealth });
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`worker exited (${code}) before it was ready`));
      });
    });
    proc.removeAllListeners('exit');
    return new Worker(proc, ready.store);
  }

  /** `n` chat() calls, one after the other, in the worker. */
  chat(n: number): Promise<ChatBatch> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`worker exited (${code})`));
      this.proc.once('exit', onExit);
      this.proc.once('message', (m) => {
        this.proc.off('exit', onExit);
        resolve(m as ChatBatch);
      });
      this.proc.send({ cmd: 'chat', n });
    });
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
}
