import type { LlmRotateMetricsOptions } from '../../core/observability/metrics/metrics.interfaces';

/** `LlmRotateMetricsModule.forRoot(options)`. */
export interface LlmRotateMetricsModuleOptions extends LlmRotateMetricsOptions {
  /**
   * The pools to report, by the `name` given to `LlmRotateModule.forRoot({ name })`; `'default'` is the pool
   * registered without a name. Each is the `pool` label of its series. Default: `['default']`.
   */
  pools?: string[];
  /**
   * Serve the registry's exposition text (`text/plain; version=0.0.4`) at `GET /<path>`. Default `'metrics'`;
   * `false`: no route (serve `LlmRotateMetrics.metrics()` yourself, or use the Prometheus module you already
   * have: with prom-client's global register, the default, our metrics are part of its output).
   */
  path?: string | false;
  /** Make `LlmRotateMetrics` injectable everywhere without importing this module. */
  isGlobal?: boolean;
}
