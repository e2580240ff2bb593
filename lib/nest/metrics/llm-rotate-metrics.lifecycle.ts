import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { LlmRotate } from '../../core/llm-rotate';
import { LlmRotateMetrics } from '../../core/observability/metrics/llm-rotate-metrics';
import { getLlmRotateEngineToken } from '../llm-rotate.tokens';
import { LLM_ROTATE_METRICS_POOLS } from './llm-rotate-metrics.constants';

/**
 * Attaches each reported pool's engine once every provider of the app exists (the engines live in
 * `LlmRotateModule`s this module does not import: they are found app-wide), and detaches them on shutdown.
 */
@Injectable()
export class LlmRotateMetricsLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(LlmRotateMetrics) private readonly metrics: LlmRotateMetrics,
    @Inject(LLM_ROTATE_METRICS_POOLS) private readonly pools: readonly string[],
  ) {}

  onModuleInit(): void {
    for (const pool of this.pools) {
      const token = getLlmRotateEngineToken(pool === 'default' ? undefined : pool);
      let engine: LlmRotate;
      try {
        engine = this.moduleRef.get<LlmRotate>(token, { strict: false });
      } catch {
        const how = pool === 'default' ? 'LlmRotateModule.forRoot(...) without a name' : `LlmRotateModule.forRoot({ name: '${pool}', ... })`;
        throw new Error(`LlmRotateMetricsModule: no pool "${pool}" in this application (register it with ${how}, or list the pools to report in "pools")`);
      }
      this.metrics.attach(engine, { pool });
    }
  }

  onApplicationShutdown(): void {
    this.metrics.close();
  }
}
