import { ConfigurationError } from '../../errors';
import { DEFAULT_LATENCY_BUCKETS, DEFAULT_PREFIX, metricSetFor, releaseMetricSet, type MetricSet } from './metric-set';
import type { AttachOptions, LlmRotateMetricsOptions, MetricsSource, PrometheusRegistry } from './metrics.interfaces';
import { loadPromClient } from './prom-client.loader';
import { PoolMetricsObserver } from './pool-metrics.observer';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Prometheus metrics of one or more engines (prom-client, an optional peer, is loaded when the first instance is
 * created). Counters and the latency histogram are fed by each engine's observer hooks as attempts end; the pool
 * gauges (keys per state, available keys, leases in use, store status) are read from `engine.snapshot()` when
 * the registry is scraped, so with the Redis store every worker reports the state they share.
 *
 * ```ts
 * const metrics = createLlmRotateMetrics(engine);             // prom-client's global register, prefix llm_rotate_
 * app.get('/metrics', async (_req, res) => res.type(metrics.contentType).send(await metrics.metrics()));
 * ```
 * In Nest, `LlmRotateMetricsModule` does this (and serves `GET /metrics` if asked).
 */
export class LlmRotateMetrics {
  readonly registry: PrometheusRegistry;
  private readonly set: MetricSet;
  private readonly attached = new Map<MetricsSource, { pool: string; off: () => void }>();
  private closed = false;

  constructor(options: LlmRotateMetricsOptions = {}) {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const buckets = options.latencyBuckets ?? DEFAULT_LATENCY_BUCKETS;
    const problems: string[] = [];
    if (typeof prefix !== 'string' || !NAME.test(prefix)) problems.push(`metrics.prefix: ${JSON.stringify(prefix)} is not a valid start of a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
    if (!Array.isArray(buckets) || buckets.length === 0 || buckets.some((b, i) => typeof b !== 'number' || !Number.isFinite(b) || b <= 0 || (i > 0 && b <= buckets[i - 1]))) {
      problems.push('metrics.latencyBuckets: must be a non-empty list of increasing positive numbers (seconds)');
    }
    const registry = options.registry;
    if (registry !== undefined && (typeof registry !== 'object' || registry === null || typeof registry.metrics !== 'function' || typeof registry.getSingleMetric !== 'function')) {
      problems.push('metrics.registry: must be a prom-client Registry');
    }
    if (problems.length > 0) throw new ConfigurationError(problems);
    this.registry = registry ?? (loadPromClient().register as PrometheusRegistry);
    this.set = metricSetFor(this.registry, prefix, buckets);
    this.set.users++;
  }

  /**
   * Starts counting an engine's attempts and calls, and reporting its pool in the gauges, under `pool`
   * (default `default`). Returns the function that stops it (its counters stay in the registry).
   */
  attach(engine: MetricsSource, options: AttachOptions = {}): () => void {
    if (this.closed) throw new Error('LlmRotateMetrics: attach() after close()');
    const pool = options.pool ?? 'default';
    if (typeof pool !== 'string' || pool === '') throw new ConfigurationError([`metrics.pool: must be a non-empty string (got ${JSON.stringify(pool)})`]);
    if (this.attached.has(engine)) throw new ConfigurationError([`metrics.pool: this engine is already attached (as "${this.attached.get(engine)?.pool}")`]);
    if (this.set.pools.has(pool)) {
      throw new ConfigurationError([`metrics.pool: a pool named "${pool}" is already attached to this registry (prefix "${this.set.prefix}"); give each engine its own pool name`]);
    }
    const off = engine.addObserver(new PoolMetricsObserver(this.set, pool));
    this.set.pools.set(pool, engine);
    this.attached.set(engine, { pool, off });
    return () => this.detach(engine);
  }

  /** Stops counting `engine` and drops its pool from the gauges; false when it was not attached. */
  detach(engine: MetricsSource): boolean {
    const a = this.attached.get(engine);
    if (a === undefined) return false;
    a.off();
    this.attached.delete(engine);
    if (this.set.pools.get(a.pool) === engine) this.set.pools.delete(a.pool);
    return true;
  }

  /** The pools attached through this instance. */
  get pools(): string[] {
    return [...this.attached.values()].map((a) => a.pool);
  }

  /** The exposition format's content type (`text/plain; version=0.0.4; charset=utf-8` for a default registry). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The registry's exposition text: these metrics and whatever else is registered there. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Detaches every engine; when no other `LlmRotateMetrics` uses the same registry and prefix, the metrics leave
   * the registry. Safe to call twice.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const engine of [...this.attached.keys()]) this.detach(engine);
    releaseMetricSet(this.set);
  }
}

/** `new LlmRotateMetrics(options)` with `engine` attached under `options.pool` (default `default`). */
export function createLlmRotateMetrics(engine: MetricsSource, options: LlmRotateMetricsOptions & AttachOptions = {}): LlmRotateMetrics {
  const { pool, ...rest } = options;
  const metrics = new LlmRotateMetrics(rest);
  try {
    metrics.attach(engine, { pool });
  } catch (e) {
    metrics.close();
    throw e;
  }
  return metrics;
}
