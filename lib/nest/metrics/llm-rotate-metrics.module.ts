import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigurationError } from '../../core/errors';
import { LlmRotateMetrics } from '../../core/observability/metrics/llm-rotate-metrics';
import { loadPromClient } from '../../core/observability/metrics/prom-client.loader';
import { LLM_ROTATE_METRICS_POOLS } from './llm-rotate-metrics.constants';
import { createMetricsController } from './llm-rotate-metrics.controller';
import type { LlmRotateMetricsModuleOptions } from './llm-rotate-metrics.interfaces';
import { LlmRotateMetricsLifecycle } from './llm-rotate-metrics.lifecycle';

/**
 * Prometheus metrics of the app's key pools: `LlmRotateMetricsModule.forRoot({ pools?, path?, registry?, prefix? })`.
 * Provides {@link LlmRotateMetrics} (inject it to serve or push the text yourself) and, unless `path: false`,
 * serves `GET /metrics`. prom-client (an optional peer) is loaded only when this module is registered.
 */
@Module({})
export class LlmRotateMetricsModule {
  static forRoot(options: LlmRotateMetricsModuleOptions = {}): DynamicModule {
    const { pools = ['default'], path = 'metrics', isGlobal, ...metricsOptions } = options;
    const problems: string[] = [];
    if (!Array.isArray(pools) || pools.length === 0 || pools.some((p) => typeof p !== 'string' || p === '')) problems.push('pools: must list at least one pool name (\'default\': the pool registered without a name)');
    else if (new Set(pools).size !== pools.length) problems.push('pools: a pool is listed twice');
    if (path !== false && typeof path !== 'string') problems.push('path: must be a route path such as \'metrics\', or false');
    if (problems.length > 0) throw new ConfigurationError(problems.map((p) => `LlmRotateMetricsModule.${p}`));
    const controllers = path === false ? [] : [createMetricsController(path, (metricsOptions.registry ?? loadPromClient().register).contentType)];
    return {
      module: LlmRotateMetricsModule,
      global: isGlobal === true,
      controllers,
      providers: [
        { provide: LlmRotateMetrics, useFactory: () => new LlmRotateMetrics(metricsOptions) },
        { provide: LLM_ROTATE_METRICS_POOLS, useValue: [...pools] },
        LlmRotateMetricsLifecycle,
      ],
      exports: [LlmRotateMetrics],
    };
  }
}
