import { ConfigurationError } from '../../errors';

/** The prom-client module, loaded the first time metrics are created (it is an optional peer dependency). */
export type PromClient = typeof import('prom-client');

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
