/*
 * Type tests of metrics and tracing: each `// @ts-expect-error TSnnnn <what>` line must be followed by a line with
 * that error (test/unit/types.spec.ts checks the code too), and everything else must compile.
 */
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { Registry, register } from 'prom-client';
import { LlmRotate, LlmRotateMetrics, LlmRotateMetricsModule, LlmRotateModule, createLlmRotateMetrics, type LlmRotateOptions } from '../../lib';

const base: LlmRotateOptions = { registry: { keys: [{ keyId: 'a', provider: 'openai', secretRef: 'env://OPENAI_API_KEY' }] }, useKeys: ['a'] };

// The tracing option: a boolean (unset: on when @opentelemetry/api is installed).
LlmRotateModule.forRoot({ ...base, tracing: true });
LlmRotateModule.forRootAsync({ useFactory: () => ({ ...base, tracing: false }) });
// @ts-expect-error TS2322 tracing is a boolean
LlmRotateModule.forRoot({ ...base, tracing: 'on' });

// The SDK's own providers fit deps.otel.
const engine = new LlmRotate(base, { otel: { tracerProvider: new BasicTracerProvider() } });

// prom-client's registries (its global one and a new one) fit the `registry` option.
createLlmRotateMetrics(engine, { registry: register, prefix: 'llm_', pool: 'default' });
const metrics = new LlmRotateMetrics({ registry: new Registry(), latencyBuckets: [0.1, 1, 10] });
metrics.attach(engine, { pool: 'cheap' });
const text: Promise<string> = metrics.metrics();
void text;

LlmRotateMetricsModule.forRoot();
LlmRotateMetricsModule.forRoot({ pools: ['default', 'cheap'], path: 'metrics', registry: register, isGlobal: true });
LlmRotateMetricsModule.forRoot({ path: false });
// @ts-expect-error TS2322 path is a string or false
LlmRotateMetricsModule.forRoot({ path: true });
// @ts-expect-error TS2561 a misspelt option (pools)
LlmRotateMetricsModule.forRoot({ pool: 'cheap' });
