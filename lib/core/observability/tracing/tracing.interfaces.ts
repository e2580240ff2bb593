/**
 * OpenTelemetry providers to use instead of the global ones (`trace.getTracerProvider()`,
 * `metrics.getMeterProvider()`), passed to the engine as `new LlmRotate(options, { otel })`. Spelt out
 * structurally so that this library's typings do not need `@opentelemetry/api`; its own providers fit.
 */
export interface OtelProviders {
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
  meterProvider?: { getMeter(name: string, version?: string): unknown };
}
