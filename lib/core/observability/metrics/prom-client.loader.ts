import { ConfigurationError } from '../../errors';
import type { PrometheusRegistry } from './metrics.interfaces';

/*
 * prom-client is an optional peer: it is required the first time metrics are created, and its types are spelt out
 * here (the part this library uses) so that no declaration of this package names it.
 */

export type PromLabels = Record<string, string>;

export interface PromCounter {
  inc(labels: PromLabels, value?: number): void;
}

export interface PromHistogram {
  observe(labels: PromLabels, value: number): void;
}

export interface PromGauge {
  set(labels: PromLabels, value: number): void;
  reset(): void;
}

interface MetricConfig {
  name: string;
  help: string;
  labelNames: readonly string[];
  registers: readonly PrometheusRegistry[];
}

export interface PromClient {
  readonly register: PrometheusRegistry;
  readonly Counter: new (config: MetricConfig) => PromCounter;
  readonly Histogram: new (config: MetricConfig & { buckets: number[] }) => PromHistogram;
  readonly Gauge: new (config: MetricConfig & { collect(this: PromGauge): Promise<void> }) => PromGauge;
}

let promClient: PromClient | undefined;

export function loadPromClient(): PromClient {
  if (promClient === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      promClient = require('prom-client') as PromClient;
    } catch {
      throw new ConfigurationError(['metrics: Prometheus metrics need the optional package prom-client (npm install prom-client)']);
    }
  }
  return promClient;
}
