import type { EngineObserver } from '../observer.interfaces';
import type { PoolSnapshot } from '../../snapshot.interfaces';

/**
 * The part of a prom-client `Registry` the metrics need. prom-client's own `Registry` (and its global `register`)
 * fits; the type is spelt out here so that this library's typings do not require prom-client.
 */
export interface PrometheusRegistry {
  readonly contentType: string;
  /** The exposition text of every metric in the registry (ours and anything else registered there). */
  metrics(): Promise<string>;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

/** What the metrics read from an engine: its observer hooks (counters) and its snapshot (gauges, at scrape time). */
export interface MetricsSource {
  addObserver(observer: EngineObserver): () => void;
  snapshot(): Promise<PoolSnapshot>;
}

export interface LlmRotateMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global `register` (what `collectDefaultMetrics()` and most Nest Prometheus modules use). */
  registry?: PrometheusRegistry;
  /** Prefix of every metric name. Default `llm_rotate_`. */
  prefix?: string;
  /**
   * Upper bounds (seconds) of the attempt latency histogram's buckets. Default
   * 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120: from a cached short answer to a long generation.
   */
  latencyBuckets?: readonly number[];
}

export interface AttachOptions {
  /**
   * The `pool` label of this engine's series. Default `default`. Each engine attached to one registry (with one
   * prefix) needs its own pool name: the Nest module uses the name given to `LlmRotateModule.forRoot({ name })`.
   */
  pool?: string;
}
