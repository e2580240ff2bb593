import type { AttemptOutcome, UsageEvent } from '../../types';
import type { AttemptObserver, CallEnd, CallObserver, CallSource, CallStart, EngineObserver } from '../observer.interfaces';
import type { MetricSet } from './metric-set';

type Labels = Record<string, string>;

/** The label objects of one key and model, built once and reused by every later attempt (no allocation per event). */
interface Series {
  readonly key: Labels;
  readonly model: Labels;
  readonly input: Labels;
  readonly output: Labels;
  readonly byOutcome: Partial<Record<AttemptOutcome, { attempts: Labels; latency: Labels }>>;
}

/**
 * Feeds one engine's attempts and calls into the Prometheus counters under its `pool` label. Per attempt: a map
 * lookup and a few counter increments; per call, one. The call observers are four constant objects (one per
 * source), so a call allocates nothing here.
 */
export class PoolMetricsObserver implements EngineObserver {
  private readonly series = new Map<string, Series>();
  private readonly callLabels = new Map<string, Labels>();
  private readonly bySource: Record<CallSource, CallObserver>;

  constructor(
    private readonly set: MetricSet,
    private readonly pool: string,
  ) {
    const attempt: AttemptObserver = { attemptEnded: (e) => this.record(e) };
    const forSource = (source: CallSource): CallObserver => ({
      attemptStarted: () => attempt,
      callEnded: (end: CallEnd) => this.set.calls.inc(this.callLabelsOf(source, end.outcome)),
    });
    this.bySource = { chat: forSource('chat'), stream: forSource('stream'), acquire: forSource('acquire'), fetch: forSource('fetch') };
  }

  callStarted(call: CallStart): CallObserver {
    return this.bySource[call.source];
  }

  private record(e: UsageEvent): void {
    const set = this.set;
    const s = this.seriesOf(e);
    const o = this.outcomeLabels(s, e);
    set.attempts.inc(o.attempts);
    set.latency.observe(o.latency, e.latencyMs / 1000);
    if (e.outcome === 'success') {
      set.tokens.inc(s.input, e.inputTokens ?? 0);
      set.tokens.inc(s.output, e.outputTokens ?? 0);
      if (e.cachedInputTokens !== undefined) set.cachedInputTokens.inc(s.key, e.cachedInputTokens);
      if (typeof e.costUsd === 'number') set.cost.inc(s.key, e.costUsd);
      else if (e.costUsd === 'unknown') set.unpriced.inc(s.model);
    }
    if (e.attempt > 1) set.rotations.inc(s.model);
    if (e.fallback) set.fallbacks.inc(s.model);
  }

  private seriesOf(e: UsageEvent): Series {
    const id = `${e.keyId}\n${e.model}`;
    let s = this.series.get(id);
    if (s === undefined) {
      const base = { pool: this.pool, provider: e.provider, model: e.model };
      const key = { ...base, key_id: e.keyId };
      s = { key, model: base, input: { ...key, type: 'input' }, output: { ...key, type: 'output' }, byOutcome: {} };
      this.series.set(id, s);
    }
    return s;
  }

  private outcomeLabels(s: Series, e: UsageEvent): { attempts: Labels; latency: Labels } {
    let o = s.byOutcome[e.outcome];
    if (o === undefined) {
      o = { attempts: { ...s.key, outcome: e.outcome }, latency: { ...s.model, outcome: e.outcome } };
      s.byOutcome[e.outcome] = o;
    }
    return o;
  }

  private callLabelsOf(source: CallSource, outcome: string): Labels {
    const id = `${source}\n${outcome}`;
    let l = this.callLabels.get(id);
    if (l === undefined) this.callLabels.set(id, (l = { pool: this.pool, source, outcome }));
    return l;
  }
}
