import { performance } from 'node:perf_hooks';
import type { Attributes, Context, MeterProvider, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import type { UsageEvent } from '../../types';
import type { AttemptObserver, AttemptStart, CallEnd, CallObserver, CallSource, CallStart, EngineObserver } from '../observer.interfaces';
import { OtelCounters } from './otel-counters';
import type { OtelApiModule } from './otel.loader';
import { ATTR, attemptSpanName, callSpanName, operationOf, SEMCONV_PROVIDER } from './span-attributes';
import type { OtelProviders } from './tracing.interfaces';

export const INSTRUMENTATION_NAME = 'nestjs-llm-rotate';

type OtelApi = typeof import('@opentelemetry/api');

/**
 * OpenTelemetry spans and counters from the engine's observer hooks. Each call (chat, stream, acquire, fetch) is
 * a span — for chat and stream the GenAI conventions' client inference span, which covers every retry — and each
 * attempt (one leased key) a child span. The call span's parent is whatever span is active where the call was made.
 *
 * With the global providers and no SDK registered, `callStarted` returns undefined after a few property reads: the
 * engine then builds nothing for the call.
 */
export class TracingObserver implements EngineObserver {
  private readonly api: OtelApi;
  private readonly tracer: Tracer;
  private readonly noopTracerProvider: TracerProvider;
  private meterProvider: MeterProvider | undefined;
  private counters: OtelCounters | undefined;

  /** `apiModule`: the `@opentelemetry/api` module (see `otel.loader.ts`). */
  constructor(
    apiModule: OtelApiModule,
    private readonly providers: OtelProviders = {},
  ) {
    const api = (this.api = apiModule as OtelApi);
    this.tracer = ((providers.tracerProvider as TracerProvider | undefined) ?? api.trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME);
    // The API's no-op provider, as a proxy without a delegate returns it (the class itself is not exported).
    this.noopTracerProvider = new api.ProxyTracerProvider().getDelegate();
  }

  callStarted(call: CallStart): CallObserver | undefined {
    const { api } = this;
    const counters = this.currentCounters();
    if (counters === undefined && this.providers.tracerProvider === undefined && this.noTracerRegistered()) return undefined;
    const parent = api.context.active();
    const attributes: Attributes = { [ATTR.source]: call.source };
    const op = operationOf(call.source);
    if (op !== undefined) attributes[ATTR.operation] = op;
    if (call.model !== '') attributes[ATTR.requestModel] = call.model;
    if (call.provider !== undefined) {
      attributes[ATTR.provider] = SEMCONV_PROVIDER[call.provider];
      attributes[ATTR.ourProvider] = call.provider;
    }
    if (call.source === 'stream') attributes[ATTR.stream] = true;
    if (call.requestId !== '') attributes[ATTR.requestId] = call.requestId;
    const kind = call.source === 'acquire' ? api.SpanKind.INTERNAL : api.SpanKind.CLIENT;
    const span = this.tracer.startSpan(callSpanName(call.source, call.model, call.provider), { kind, attributes, startTime: spanNow() }, parent);
    if (!span.isRecording()) {
      // Not sampled (or no SDK): count only.
      return counters === undefined ? undefined : new TracedCall(api, this.tracer, call.source, undefined, parent, counters);
    }
    return new TracedCall(api, this.tracer, call.source, span, api.trace.setSpan(parent, span), counters);
  }

  private noTracerRegistered(): boolean {
    const tp = this.api.trace.getTracerProvider();
    return tp instanceof this.api.ProxyTracerProvider && tp.getDelegate() === this.noopTracerProvider;
  }

  /** The counters of the meter provider in force (one may be registered after the engine started); none for the no-op one. */
  private currentCounters(): OtelCounters | undefined {
    const mp = (this.providers.meterProvider as MeterProvider | undefined) ?? this.api.metrics.getMeterProvider();
    if (mp !== this.meterProvider) {
      this.meterProvider = mp;
      const meter = mp.getMeter(INSTRUMENTATION_NAME);
      this.counters = meter === this.api.createNoopMeter() ? undefined : new OtelCounters(meter);
    }
    return this.counters;
  }
}

class TracedCall implements CallObserver {
  /** Attempt spans started and not ended yet (a lent key given back unused ends its attempt without an event). */
  private readonly open = new Set<Span>();
  private success: UsageEvent | undefined;
  private last: UsageEvent | undefined;

  constructor(
    private readonly api: OtelApi,
    private readonly tracer: Tracer,
    private readonly source: CallSource,
    private readonly span: Span | undefined,
    private readonly ctx: Context,
    private readonly counters: OtelCounters | undefined,
  ) {}

  attemptStarted(a: AttemptStart): AttemptObserver {
    let child: Span | undefined;
    if (this.span !== undefined) {
      const attributes: Attributes = {
        [ATTR.source]: this.source,
        [ATTR.provider]: SEMCONV_PROVIDER[a.provider],
        [ATTR.ourProvider]: a.provider,
        [ATTR.keyId]: a.keyId,
        [ATTR.attempt]: a.attempt,
        [ATTR.fallback]: a.fallback,
      };
      const op = operationOf(this.source);
      if (op !== undefined) attributes[ATTR.operation] = op;
      if (a.model !== '') attributes[ATTR.requestModel] = a.model;
      child = this.tracer.startSpan(attemptSpanName(a.provider, a.model), { kind: this.api.SpanKind.INTERNAL, attributes, startTime: spanNow() }, this.ctx);
      this.open.add(child);
    }
    return { attemptEnded: (e) => this.attemptEnded(child, e) };
  }

  private attemptEnded(child: Span | undefined, e: UsageEvent): void {
    this.last = e;
    if (e.outcome === 'success') this.success = e;
    this.counters?.record(this.source, e);
    if (child === undefined || !this.open.delete(child)) return;
    child.setAttribute(ATTR.outcome, e.outcome);
    if (e.status !== undefined) child.setAttribute(ATTR.httpStatus, e.status);
    if (e.outcome === 'success') child.setAttribute(ATTR.responseModel, e.model);
    else if (e.outcome !== 'cancelled') {
      child.setAttribute(ATTR.errorType, e.errorClass ?? e.outcome);
      child.setStatus({ code: this.api.SpanStatusCode.ERROR, message: e.status === undefined ? e.outcome : `${e.outcome} ${e.status}` });
    }
    child.end(spanNow());
  }

  callEnded(end: CallEnd): void {
    const span = this.span;
    if (span === undefined) return;
    for (const c of this.open) {
      c.setAttribute(ATTR.outcome, 'cancelled');
      c.end(spanNow());
    }
    this.open.clear();
    span.setAttribute(ATTR.outcome, end.outcome);
    span.setAttribute(ATTR.attempts, end.attempts);
    if (end.provider !== undefined) {
      span.setAttribute(ATTR.provider, SEMCONV_PROVIDER[end.provider]);
      span.setAttribute(ATTR.ourProvider, end.provider);
    }
    if (end.outcome === 'success') {
      const won = this.success;
      if (end.model !== undefined && end.model !== '') span.setAttribute(ATTR.responseModel, end.model);
      if (end.keyId !== undefined) span.setAttribute(ATTR.keyId, end.keyId);
      const usage = end.usage;
      if (usage !== undefined) {
        span.setAttribute(ATTR.inputTokens, usage.inputTokens);
        span.setAttribute(ATTR.outputTokens, usage.outputTokens);
        if (usage.cachedInputTokens !== undefined) span.setAttribute(ATTR.cacheReadTokens, usage.cachedInputTokens);
      }
      if (won !== undefined) {
        span.setAttribute(ATTR.fallback, won.fallback);
        if (typeof won.costUsd === 'number') span.setAttribute(ATTR.costUsd, won.costUsd);
        else if (won.costUsd === 'unknown') span.setAttribute(ATTR.costUnknown, true);
      }
    } else if (end.outcome !== 'cancelled') {
      const type = end.error?.name ?? this.last?.errorClass ?? end.outcome;
      span.setAttribute(ATTR.errorType, type);
      if (end.error === undefined && this.last?.status !== undefined) span.setAttribute(ATTR.httpStatus, this.last.status);
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: end.error?.message ?? end.outcome });
    }
    span.end(spanNow());
  }
}

/**
 * One clock for every span of a call (epoch ms with sub-ms precision). The SDK anchors each span's own clock on
 * Date.now() (1 ms steps) when none is given, so a child could end a fraction of a millisecond "after" its parent.
 */
function spanNow(): number {
  return performance.timeOrigin + performance.now();
}
