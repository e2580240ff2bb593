/**
 * One worker process: its own Nest app (LlmRotateModule.forRoot) on the memory or the Redis store, driven by its
 * parent over IPC. Started with `fork(thisFile, [json], { execArgv: ['-r', '@swc-node/register'] })`, where json is
 * `{ baseUrl, keys, stateStore }`. Messages in: `{ cmd: 'chat', n }` (n calls, one after the other) and
 * `{ cmd: 'close' }`. Messages out: `{ ready: true, store }`, `{ done: keyIds[], attempts: keyIds[][], errors: string[] }`.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { LlmRotateModule, LlmRotateService, type StateStoreOptions } from '../../lib';
import { makeOptions, type TestKey } from './options';

interface WorkerConfig {
  baseUrl: string;
  keys: TestKey[];
  stateStore: StateStoreOptions;
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2]) as WorkerConfig;

  @Module({ imports: [LlmRotateModule.forRoot(makeOptions(cfg.baseUrl, cfg.keys, { stateStore: cfg.stateStore }))] })
  class WorkerModule {}

  const app = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
  app.enableShutdownHooks();
  const llm = app.get(LlmRotateService);
  const send = (m: unknown): void => {
    process.send?.(m);
  };
  process.on('message', async (m: { cmd: string; n?: number }) => {
    if (m.cmd === 'chat') {
      const done: string[] = [];
      const attempts: string[][] = [];
      const errors: string[] = [];
      for (let i = 0; i < (m.n ?? 1); i++) {
        try {
          const r = await llm.chat('gpt-4o-mini', [{ role: 'user', content: 'hi' }]);
          done.push(r.keyId);
          attempts.push(r.attempts.map((a) => a.keyId));
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      send({ done, attempts, errors });
    } else if (m.cmd === 'close') {
      await app.close(); // Nest shutdown: the module closes the engine and its Redis connection
      process.exit(0);
    }
  });
  send({ ready: true, store: llm.storeHealth() });
}

main().catch((e: unknown) => {
  process.stderr.write(`worker failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
