import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { LlmRotateService } from '../lib';
import { AppModule } from './app.module';
import { defaultModel, sampleMode } from './config/llm.config';
import { DemoUpstreamService } from './demo/demo-upstream.service';

async function bootstrap(): Promise<void> {
  // abortOnError: false lets a bad configuration reach the catch below (a clean exit 1 with every problem listed).
  const app = await NestFactory.create(AppModule, { abortOnError: false });
  // SIGINT/SIGTERM: Nest stops the HTTP server (requests in flight finish), then runs onApplicationShutdown: the
  // engine drains what is left (up to its shutdownTimeoutMs) and closes its store, the demo upstream stops; exit 0.
  app.enableShutdownHooks(['SIGINT', 'SIGTERM'], { useProcessExit: true });
  const config = app.get(ConfigService);
  const port = Number(config.get<string>('PORT') ?? 3000);
  await app.listen(port);

  const logger = new Logger('Sample');
  const { port: actual } = app.getHttpServer().address() as AddressInfo;
  const snapshot = await app.get(LlmRotateService).snapshot();
  const keys = snapshot.keys.map((k) => `${k.keyId} (${k.provider})`).join(', ');
  const mode = sampleMode(config);
  const demo = app.get(DemoUpstreamService).running;
  if (mode === 'demo' && demo !== undefined) {
    logger.log(`Demo mode: no provider key in the environment; keys ${keys} talk to the local demo upstream ${demo.baseUrl}`);
  } else {
    logger.log(`Keys from ${mode === 'file' ? `the registry file ${config.get<string>('LLM_ROTATE_CONFIG')}` : 'the environment'}: ${keys}`);
  }
  logger.log(`Default model ${defaultModel(config)}, strategy ${snapshot.strategy}, state store ${snapshot.store.backend}`);
  logger.log(`Listening on http://localhost:${actual} (POST /chat, GET /chat/stream?prompt=..., GET /health, GET /metrics, GET /dashboard)`);
}

bootstrap().catch((e: unknown) => {
  // E.g. a ConfigurationError listing every problem. Nest ran no shutdown hooks for an app that never started
  // (a demo upstream may be listening), so leave at once.
  new Logger('Sample').error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
