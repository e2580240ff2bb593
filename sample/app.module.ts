import { Module, ValidationPipe } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LlmRotateDashboardModule, LlmRotateExceptionFilter, LlmRotateMetricsModule, LlmRotateModule } from '../lib';
import { ChatController } from './chat/chat.controller';
import { llmRotateOptions } from './config/llm.config';
import { DemoModule } from './demo/demo.module';
import { DemoUpstreamService } from './demo/demo-upstream.service';
import { HealthController } from './health/health.controller';
import { UsageLogger } from './usage/usage-logger.service';

@Module({
  imports: [
    // Reads the environment (and a `.env` file in the working directory, if there is one).
    ConfigModule.forRoot({ isGlobal: true }),
    LlmRotateModule.forRootAsync({
      imports: [ConfigModule, DemoModule],
      inject: [ConfigService, DemoUpstreamService],
      useFactory: llmRotateOptions,
    }),
    DemoModule,
    TerminusModule,
    // GET /metrics: Prometheus text (attempts, tokens, cost, rotations, latency; keys per state from the shared state).
    LlmRotateMetricsModule.forRoot(),
    // The pool's live dashboard at /dashboard (JSON under it, e.g. /dashboard/keys). Read-only: operator actions
    // are off unless `actions: { enabled: true, guard: YourAdminGuard }` is given.
    LlmRotateDashboardModule.register({ path: 'dashboard' }),
  ],
  controllers: [ChatController, HealthController],
  providers: [
    // Registered here rather than in main.ts so that tests building this module get them too.
    { provide: APP_PIPE, useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }) },
    // The library's errors as HTTP answers (503 + Retry-After, the caller's 4xx, 502/504, ...); Nest's adapter
    // (HttpAdapterHost) is injected, so the same filter serves Express and Fastify.
    { provide: APP_FILTER, useClass: LlmRotateExceptionFilter },
    UsageLogger,
  ],
})
export class AppModule {}
