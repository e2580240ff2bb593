import { ConfigurationError } from '../../errors';

/**
 * The `@opentelemetry/api` module (an optional peer dependency), required only when tracing is enabled. Typed as
 * an opaque object here so that no declaration of this package names it; `tracing.observer.ts` uses its types.
 */
export type OtelApiModule = object;

let api: OtelApiModule | null | undefined;

/** The API when it is installed, else undefined (looked for once per process). */
export function loadOtelApi(): OtelApiModule | undefined {
  if (api === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      api = require('@opentelemetry/api') as OtelApiModule;
    } catch {
      api = null;
    }
  }
  return api ?? undefined;
}

/** The API, or a clear error when `tracing: true` asks for it and it is not installed. */
export function requireOtelApi(): OtelApiModule {
  const a = loadOtelApi();
  if (a === undefined) throw new ConfigurationError(['tracing: true needs the optional package @opentelemetry/api (npm install @opentelemetry/api), or leave tracing unset']);
  return a;
}
