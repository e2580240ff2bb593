import type { KeyState } from '../../health/health.interfaces';
import type { PoolSnapshot } from '../../snapshot.interfaces';
import type { MetricsSource, PrometheusRegistry } from './metrics.interfaces';
import { loadPromClient, type PromCounter, type PromGauge, type PromHistogram } from './prom-client.loader';

export const DEFAULT_PREFIX = 'llm_rotate_';
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];
const KEY_STATES: readonly KeyState[] = ['ACTIVE', 'COOLDOWN', 'QUARANTINE', 'PROBATION', 'DISABLED'];

/**
 * The metrics of one registry and prefix, shared by every engine attached there (each under its own `pool` label),
 * so that several pools, or several `LlmRotateMetrics`, can use one registry without registering a name twice.
 * Counters and the histogram are fed by the engines' observer hooks; the gauges are computed at scrape time
 * from each attached engine's `snapshot()` (with the Redis store: the state every worker shares).
 */
export class MetricSet {
  readonly attempts: PromCounter;
  readonly calls: PromCounter;
  readonly tokens: PromCounter;
  readonly cachedInputTokens: PromCounter;
  readonly cost: PromCounter;
  readonly unpriced: PromCounter;
  readonly rotations: PromCounter;
  readonly fallbacks: PromCounter;
  readonly latency: PromHistogram;
  private readonly keys: PromGauge;
  private readonly keyState: PromGauge;
  private readonly available: PromGauge;
  private readonly leases: PromGauge;
  private readonly storeUp: PromGauge;
  /** Every metric of the set with its full name (prom-client's typings do not show `name`). */
  private readonly all: ReadonlyArray<readonly [string, object]>;
  /** Attached engines by pool name. */
  readonly pools = new Map<string, MetricsSource>();
  /** `LlmRotateMetrics` instances using this set; the metrics leave the registry when the last one closes. */
  users = 0;
  /** The snapshots of the scrape in progress (every gauge's collect shares them). */
  private scrape: Promise<ReadonlyArray<readonly [string, PoolSnapshot]>> | undefined;

  constructor(
    readonly registry: PrometheusRegistry,
    readonly prefix: string,
    buckets: readonly number[],
  ) {
    const prom = loadPromClient();
    const registers = [registry];
    const p = prefix;
    const key = ['pool', 'provider', 'model', 'key_id'];
    this.attempts = new prom.Counter({
      name: `${p}attempts_total`,
      help: 'Attempts (one per key tried) by outcome: success, rate_limit, auth, transient, bad_request, cancelled, local_error.',
      labelNames: [...key, 'outcome'],
      registers,
    });
    this.calls = new prom.Counter({
      name: `${p}calls_total`,
      help: 'Calls (chat, stream, acquire, fetch) by how they ended; outcome "exhausted": no key could serve the call.',
      labelNames: ['pool', 'source', 'outcome'],
      registers,
    });
    this.tokens = new prom.Counter({ name: `${p}tokens_total`, help: 'Tokens of successful attempts, by type (input: every input token, cached ones included; output).', labelNames: [...key, 'type'], registers });
    this.cachedInputTokens = new prom.Counter({ name: `${p}cached_input_tokens_total`, help: "Input tokens read from the provider's prompt cache (when it says); a part of the input tokens.", labelNames: key, registers });
    this.cost = new prom.Counter({ name: `${p}cost_usd_total`, help: 'Estimated cost in USD of successful attempts whose model has a price (see unpriced_successes_total for the rest).', labelNames: key, registers });
    this.unpriced = new prom.Counter({ name: `${p}unpriced_successes_total`, help: 'Successful attempts whose model has no price: their cost is unknown, not 0.', labelNames: ['pool', 'provider', 'model'], registers });
    this.rotations = new prom.Counter({ name: `${p}rotations_total`, help: "Attempts after a call's first: the call moved on to another key (or waited for one).", labelNames: ['pool', 'provider', 'model'], registers });
    this.fallbacks = new prom.Counter({ name: `${p}fallbacks_total`, help: 'Attempts made for a fallback step (another model or provider than the one asked for).', labelNames: ['pool', 'provider', 'model'], registers });
    this.latency = new prom.Histogram({
      name: `${p}attempt_duration_seconds`,
      help: 'Duration of each attempt, from the lease of its key to its outcome (a stream: to its last chunk).',
      labelNames: ['pool', 'provider', 'model', 'outcome'],
      buckets: [...buckets],
      registers,
    });
    const set = this;
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: PromGauge, pool: string, s: PoolSnapshot) => void): PromGauge =>
      new prom.Gauge({
        name: `${p}${name}`,
        help,
        labelNames,
        registers,
        async collect() {
          const snaps = await set.snapshots();
          this.reset();
          for (const [pool, s] of snaps) fill(this, pool, s);
        },
      });
    this.keys = gauge('keys', 'Keys per health state (ACTIVE, COOLDOWN, QUARANTINE, PROBATION, DISABLED), per provider; shared state with the Redis store.', ['pool', 'provider', 'state'], (g, pool, s) => {
      const counts = new Map<string, Record<KeyState, number>>();
      for (const k of s.keys) {
        let c = counts.get(k.provider);
        if (c === undefined) counts.set(k.provider, (c = { ACTIVE: 0, COOLDOWN: 0, QUARANTINE: 0, PROBATION: 0, DISABLED: 0 }));
        c[k.state]++;
      }
      for (const [provider, c] of counts) for (const state of KEY_STATES) g.set({ pool, provider, state }, c[state]);
    });
    this.keyState = gauge('key_state', "1 for each key's current health state (one series per key).", ['pool', 'provider', 'key_id', 'state'], (g, pool, s) => {
      for (const k of s.keys) g.set({ pool, provider: k.provider, key_id: k.keyId, state: k.state }, 1);
    });
    this.available = gauge('available_keys', 'Keys selectable right now (healthy, under their limits, not held back by this process), per provider.', ['pool', 'provider'], (g, pool, s) => {
      for (const [provider, v] of Object.entries(s.providers)) if (v !== undefined) g.set({ pool, provider }, v.available);
    });
    this.leases = gauge('leases_in_use', 'Leases held now (calls in flight and lent keys; every worker with the Redis store), per provider.', ['pool', 'provider'], (g, pool, s) => {
      const byProvider = new Map<string, number>();
      for (const k of s.keys) byProvider.set(k.provider, (byProvider.get(k.provider) ?? 0) + k.leasesInUse);
      for (const [provider, n] of byProvider) g.set({ pool, provider }, n);
    });
    this.storeUp = gauge('store_up', "1 while the state store is up, 0 while it is degraded (Redis unreachable: this worker serves on local state).", ['pool', 'backend'], (g, pool, s) => {
      g.set({ pool, backend: s.store.backend }, s.store.status === 'up' ? 1 : 0);
    });
    const named = (m: object): readonly [string, object] => [(m as { name: string }).name, m];
    this.all = [this.attempts, this.calls, this.tokens, this.cachedInputTokens, this.cost, this.unpriced, this.rotations, this.fallbacks, this.latency, this.keys, this.keyState, this.available, this.leases, this.storeUp].map(named);
  }

  /** True while every metric of the set is still the one registered under its name (nobody cleared the registry). */
  get registered(): boolean {
    return this.all.every(([name, m]) => this.registry.getSingleMetric(name) === m);
  }

  unregister(): void {
    for (const [name, m] of this.all) if (this.registry.getSingleMetric(name) === m) this.registry.removeSingleMetric(name);
  }

  /** One snapshot per attached pool, shared by the gauges of one scrape. A pool whose snapshot fails is left out. */
  private snapshots(): Promise<ReadonlyArray<readonly [string, PoolSnapshot]>> {
    if (this.scrape === undefined) {
      const pools = [...this.pools];
      const p = Promise.all(pools.map(([name, src]) => src.snapshot().then((s) => [name, s] as const, () => undefined))).then((list) =>
        list.filter((x): x is readonly [string, PoolSnapshot] => x !== undefined),
      );
      this.scrape = p;
      void p.finally(() => {
        if (this.scrape === p) this.scrape = undefined;
      });
    }
    return this.scrape;
  }
}

const sets = new WeakMap<PrometheusRegistry, Map<string, MetricSet>>();

/** The set of `registry` and `prefix`, created (and registered) when there is none or the registry lost it. */
export function metricSetFor(registry: PrometheusRegistry, prefix: string, buckets: readonly number[]): MetricSet {
  let byPrefix = sets.get(registry);
  if (byPrefix === undefined) sets.set(registry, (byPrefix = new Map()));
  let set = byPrefix.get(prefix);
  if (set === undefined || !set.registered) {
    // None yet, or somebody cleared the registry (what was attached before stays with the old, unregistered set).
    set?.unregister();
    set = new MetricSet(registry, prefix, buckets);
    byPrefix.set(prefix, set);
  }
  return set;
}

export function releaseMetricSet(set: MetricSet): void {
  if (--set.users > 0) return;
  set.unregister();
  const byPrefix = sets.get(set.registry);
  if (byPrefix?.get(set.prefix) === set) byPrefix.delete(set.prefix);
}
