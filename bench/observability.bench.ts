import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { LlmRotate, LlmRotateMetrics, createLlmRotateMetrics, type EngineObserver, type LlmRotateDeps, type LlmRotateOptions, type UsageEvent } from '../lib';
import { Observers } from '../lib/core/observability/observers';
import { TracingObserver } from '../lib/core/observability/tracing/tracing.observer';
import { OpenAiFake } from '../test/fakes/openai-fake';

/** Spans go through the SDK's batch processor to an exporter that drops them (an OTLP exporter's cost is network, not ours). */
class DroppingExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (r: { code: number }) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface ObservabilityRow {
  config: string;
  p50us: number;
  p99us: number;
  meanUs: number;
  /** Median over rounds of (this configuration's median / off's median in the same round). */
  ratio: number;
}

export interface ObservabilityResult {
  rows: ObservabilityRow[];
  calls: number;
  rounds: number;
  /** Time to render the registry's text (10 keys, after the run), median of 200 scrapes. */
  scrapeP50us: number;
  /** The hooks alone, driven with one call of one attempt, no network: µs per call. */
  hooks: Array<{ config: string; us: number }>;
}

interface Config {
  name: string;
  lr: LlmRotate;
  times: number[];
  roundMedians: number[];
  metrics?: LlmRotateMetrics;
}

/**
 * What metrics and tracing add to a chat(): six engines on one local OpenAI-format fake (memory store, 10 keys),
 * measured in interleaved rounds (the order rotates every round) so that machine noise hits them alike:
 * - off: `tracing: false`, no metrics (twice: the second copy shows the noise floor of the comparison);
 * - tracing, no SDK: `tracing` unset with `@opentelemetry/api` installed but no provider registered (the
 *   common case of the API arriving as a dependency of something else);
 * - metrics: `createLlmRotateMetrics(engine)` (prom-client);
 * - tracing (SDK): a BasicTracerProvider with a BatchSpanProcessor (spans built, attributes set, batched);
 * - metrics + tracing (SDK).
 */
export async function observabilityOverhead(callsPerRound = 200, rounds = 16): Promise<ObservabilityResult> {
  const fake = await OpenAiFake.start();
  const keys = Array.from({ length: 10 }, (_, i) => ({ keyId: `k${i}`, provider: 'openai' as const, secretRef: `literal://sk-bench-${i}`, models: ['gpt-4o-mini'], baseUrl: fake.baseUrl }));
  const options = (tracing?: boolean): LlmRotateOptions => ({ registry: { keys }, useKeys: keys.map((k) => k.keyId), ...(tracing === undefined ? {} : { tracing }) });
  const quiet = { logger: { warn: () => undefined, error: () => undefined } };
  const exporter = new DroppingExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 8192, scheduledDelayMillis: 200 })] });
  const make = async (name: string, tracing: boolean | undefined, deps: LlmRotateDeps, metrics: boolean): Promise<Config> => {
    const lr = await LlmRotate.create(options(tracing), { ...quiet, ...deps });
    return { name, lr, times: [], roundMedians: [], metrics: metrics ? createLlmRotateMetrics(lr, { registry: new Registry() }) : undefined };
  };
  const configs = [
    await make('off (tracing: false, no metrics)', false, {}, false),
    await make('tracing unset, API installed, no SDK', undefined, {}, false),
    // The same as the first: how far two identical configurations drift apart on this machine (the noise floor).
    await make('off again (A/A: the noise floor)', false, {}, false),
    await make('metrics (prom-client)', false, {}, true),
    await make('tracing (OTel SDK, batch processor)', undefined, { otel: { tracerProvider: provider } }, false),
    await make('metrics + tracing (SDK)', undefined, { otel: { tracerProvider: provider } }, true),
  ];
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const run = async (c: Config, n: number, keep: boolean): Promise<void> => {
    const round: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await c.lr.chat('gpt-4o-mini', messages);
      round.push(performance.now() - t0);
    }
    if (!keep) return;
    c.times.push(...round);
    c.roundMedians.push(median(round));
  };
  for (const c of configs) await run(c, callsPerRound, false); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < configs.length; i++) await run(configs[(i + r) % configs.length], callsPerRound, true);
    fake.requests.length = 0;
  }
  const withMetrics = configs[configs.length - 1].metrics as LlmRotateMetrics;
  const scrapes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await withMetrics.metrics();
    scrapes.push(performance.now() - t0);
  }
  await provider.forceFlush();
  if (exporter.exported === 0) throw new Error('the tracing configurations exported no span');
  for (const c of configs) {
    c.metrics?.close();
    await c.lr.close();
  }
  await provider.shutdown();
  await fake.close();
  const q = (a: number[], p: number): number => a[Math.min(a.length - 1, Math.floor(a.length * p))] * 1000;
  const base = configs[0];
  const rows = configs.map((c) => {
    const sorted = [...c.times].sort((a, b) => a - b);
    return {
      config: c.name,
      p50us: q(sorted, 0.5),
      p99us: q(sorted, 0.99),
      meanUs: (c.times.reduce((a, b) => a + b, 0) / c.times.length) * 1000,
      ratio: median(c.roundMedians.map((m, i) => m / base.roundMedians[i])),
    };
  });
  return { rows, calls: callsPerRound * rounds, rounds, scrapeP50us: q(scrapes.sort((a, b) => a - b), 0.5), hooks: await hookCost() };
}

function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * The hooks on their own: the engine's observer fan-out driven with what one chat() of one attempt reports
 * (call start, attempt start, the usage event, call end), without the network, so the figure is not drowned in
 * the noise of a shared machine. Same configurations as above.
 */
async function hookCost(calls = 100_000): Promise<Array<{ config: string; us: number }>> {
  const otel = await import('@opentelemetry/api');
  const exporter = new DroppingExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 8192, scheduledDelayMillis: 200 })] });
  const event: UsageEvent = { timestamp: 0, requestId: randomUUID(), source: 'chat', provider: 'openai', model: 'gpt-4o-mini', keyId: 'k1', outcome: 'success', latencyMs: 3, inputTokens: 9, outputTokens: 3, costUsd: 15e-6, attempt: 1, fallback: false };
  const engineLike = { addObserver: (o: EngineObserver) => observers.add(o), snapshot: () => Promise.reject(new Error('not scraped here')) };
  let observers = new Observers(() => undefined);
  const configs: Array<{ config: string; setup(): () => void }> = [
    { config: 'tracing unset, API installed, no SDK', setup: () => observers.add(new TracingObserver(otel)) },
    {
      config: 'metrics (prom-client)',
      setup: () => {
        const m = createLlmRotateMetrics(engineLike, { registry: new Registry() });
        return () => m.close();
      },
    },
    { config: 'tracing (OTel SDK, batch processor)', setup: () => observers.add(new TracingObserver(otel, { tracerProvider: provider })) },
    {
      config: 'metrics + tracing (SDK)',
      setup: () => {
        const m = createLlmRotateMetrics(engineLike, { registry: new Registry() });
        observers.add(new TracingObserver(otel, { tracerProvider: provider }));
        return () => m.close();
      },
    },
  ];
  const out: Array<{ config: string; us: number }> = [];
  for (const c of configs) {
    observers = new Observers(() => undefined);
    const teardown = c.setup();
    const drive = (n: number): number => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const call = observers.callStarted({ source: 'chat', model: 'gpt-4o-mini', provider: undefined, requestId: event.requestId });
        call?.attemptStarted({ provider: 'openai', model: 'gpt-4o-mini', keyId: 'k1', attempt: 1, fallback: false })?.attemptEnded(event);
        call?.callEnded({ outcome: 'success', keyId: 'k1', provider: 'openai', model: 'gpt-4o-mini', usage: { inputTokens: 9, outputTokens: 3 }, attempts: 1 });
      }
      return ((performance.now() - t0) / n) * 1000;
    };
    drive(calls / 10);
    const runs = [drive(calls / 4), drive(calls / 4), drive(calls / 4), drive(calls / 4)];
    out.push({ config: c.config, us: median(runs) });
    teardown();
    await provider.forceFlush();
  }
  await provider.shutdown();
  return out;
}

/** The README's table: each configuration against "off", as a difference of medians and a ratio. */
export function observabilityTable(r: ObservabilityResult): string {
  const base = r.rows[0];
  const f = (n: number): string => (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1));
  const lines = [
    '| configuration | chat() p50 µs | p99 µs | mean µs | p50 ratio to off (median over rounds) | hooks alone, µs per call |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of r.rows) {
    const hook = r.hooks.find((h) => h.config === row.config);
    const same = row === base;
    lines.push(
      `| ${row.config} | ${f(row.p50us)} | ${f(row.p99us)} | ${f(row.meanUs)} | ${same ? '1' : `×${row.ratio.toFixed(3)}`} | ${hook === undefined ? '0' : f(hook.us)} |`,
    );
  }
  return `${lines.join('\n')}\n\n${r.calls} calls per configuration in ${r.rounds} interleaved rounds (the order rotates each round). One scrape of the registry (10 keys): p50 ${f(r.scrapeP50us)} µs.`;
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  observabilityOverhead(quick ? 100 : 200, quick ? 3 : 16).then((r) => {
    console.log(observabilityTable(r));
  });
}
