import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { LlmRotateOptions } from '../../../lib';
import { RedisServer } from '../../support/redis-server';
import { uniqueNamespace } from '../../support/redis-store';
import { DRIVERS, type ClientDriver } from './clients';
import { awsCredentials, fetchEngine, fetchOptions, startFake, twoKeys } from './harness';

const ROOT = join(__dirname, '../../..');

interface ChildAnswer {
  text?: string;
  error?: string;
  rows: Array<{ keyId: string; state: string; leasesInUse: number }>;
}

/** The other process (fetch-client.child.ts), driven over IPC; killed whatever happens. */
class OtherProcess {
  private constructor(private readonly proc: ChildProcess) {}

  static async start(): Promise<OtherProcess> {
    const proc = fork(join(__dirname, 'fetch-client.child.ts'), [], { cwd: ROOT, execArgv: ['-r', '@swc-node/register'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const other = new OtherProcess(proc);
    try {
      await other.next(60_000);
    } catch (e) {
      other.kill();
      throw e;
    }
    return other;
  }

  chat(driver: ClientDriver, fakeUrl: string, options: LlmRotateOptions): Promise<ChildAnswer> {
    this.proc.send({ cmd: 'chat', driver: driver.name, fakeUrl, options });
    return this.next(30_000) as Promise<ChildAnswer>;
  }

  private next(ms: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`the other process did not answer within ${ms} ms`)), ms);
      const onMessage = (m: unknown): void => done(undefined, m);
      const onExit = (code: number | null): void => done(new Error(`the other process exited (${code})`));
      const done = (e: Error | undefined, m?: unknown): void => {
        clearTimeout(timer);
        this.proc.off('message', onMessage);
        this.proc.off('exit', onExit);
        if (e !== undefined) reject(e);
        else resolve(m);
      };
      this.proc.once('message', onMessage);
      this.proc.once('exit', onExit);
    });
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.kill(), 5000);
      this.proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.proc.send({ cmd: 'exit' });
    });
  }
}

/**
 * Issue 11: "with the Redis store two processes share the cooldown", for every client. This process meets the 429
 * through the client and cools the key in Redis; the other process, with its own engine on the same Redis and
 * namespace, makes the same request through the same client: it never sends anything with the cooling key.
 */
describe('fetchFor on the Redis store: two processes share the cooldown', () => {
  let redis: RedisServer | undefined;
  let other: OtherProcess | undefined;

  beforeAll(async () => {
    redis = await RedisServer.start();
    other = await OtherProcess.start();
  }, 90_000);
  afterAll(async () => {
    await other?.close();
    await redis?.close();
  });

  it.each(DRIVERS.map((d) => [d.name, d] as const))('%s: a key this process saw rate-limited is skipped by the other process', async (_name, driver) => {
    const keys = twoKeys(driver, `redis-${driver.name}`);
    const [k1, k2] = keys;
    const fake = await startFake(driver.fake, { credentials: driver.fake === 'bedrock' ? awsCredentials(keys) : undefined });
    const options = fetchOptions(driver.provider, keys, { stateStore: { backend: 'redis', redisUrl: (redis as RedisServer).url, redisNamespace: uniqueNamespace('fetch') } });
    const { lr } = await fetchEngine(options);
    try {
      fake.rateLimitOnce(k1.identity);
      const reply = `Hello from ${driver.model}`;
      expect(await driver.open(fake.url, lr.fetchFor(driver.provider)).chat()).toBe(reply);
      expect(fake.hits(k1.identity)).toBe(1);

      const answer = await (other as OtherProcess).chat(driver, fake.url, options);
      expect(answer.error).toBeUndefined();
      expect(answer.text).toBe(reply);
      // k1 is tried first by both processes (priority); the other process went straight to k2.
      expect(fake.hits(k1.identity)).toBe(1);
      expect(fake.hits(k2.identity)).toBe(2);
      expect(answer.rows.find((r) => r.keyId === 'k1')).toMatchObject({ state: 'COOLDOWN', leasesInUse: 0 });
    } finally {
      await lr.close();
      await fake.close();
    }
  });
});
