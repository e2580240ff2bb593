import type { AttemptOutcome, ProviderName, Usage } from '../types';
import type { EstimatedCost } from './pricing/price.interfaces';

/** Counters of one key, provider or model since start (or the last reset). */
export interface UsageTotals {
  /** Attempts made (every try of a key counts once). */
  attempts: number;
  successes: number;
  /** Failed attempts by kind (rate_limit, auth, transient, bad_request, cancelled, local_error). */
  failures: Partial<Record<Exclude<AttemptOutcome, 'success'>, number>>;
  inputTokens: number;
  outputTokens: number;
  /** Estimated USD of the successes whose model has a price. */
  costUsd: number;
  /** Successes whose model has no price (their cost is unknown, not 0). */
  unpricedSuccesses: number;
}

export interface KeyUsageTotals extends UsageTotals {
  provider: ProviderName;
}

/** `usageSummary()`: in-memory counters of this process, per key, provider and model. */
export interface UsageSummary {
  /** ISO time the counters started (start-up or the last reset). */
  since: string;
  total: UsageTotals;
  byKey: Record<string, KeyUsageTotals>;
  byProvider: Partial<Record<ProviderName, UsageTotals>>;
  byModel: Record<string, UsageTotals>;
}

/**
 * Keeps the counters behind `usageSummary()`. `record` runs once per attempt on the attempt path: a few map reads
 * and additions, no allocation once a key/model has been seen.
 */
export class UsageRecorder {
  private since: number;
  private total = emptyTotals();
  private byKey = new Map<string, KeyUsageTotals>();
  private byProvider = new Map<ProviderName, UsageTotals>();
  private byModel = new Map<string, UsageTotals>();

  constructor(private readonly now: () => number) {
    this.since = now();
  }

  record(keyId: string, provider: ProviderName, model: string, outcome: AttemptOutcome, usage: Usage | undefined, cost: EstimatedCost | undefined): void {
    let k = this.byKey.get(keyId);
    if (k === undefined) this.byKey.set(keyId, (k = { ...emptyTotals(), provider }));
    let p = this.byProvider.get(provider);
    if (p === undefined) this.byProvider.set(provider, (p = emptyTotals()));
    let m = this.byModel.get(model);
    if (m === undefined) this.byModel.set(model, (m = emptyTotals()));
    add(this.total, outcome, usage, cost);
    add(k, outcome, usage, cost);
    add(p, outcome, usage, cost);
    add(m, outcome, usage, cost);
  }

  summary(): UsageSummary {
    return {
      since: new Date(this.since).toISOString(),
      total: copy(this.total),
      byKey: Object.fromEntries([...this.byKey].map(([id, t]) => [id, { ...copy(t), provider: t.provider }])),
      byProvider: Object.fromEntries([...this.byProvider].map(([id, t]) => [id, copy(t)])),
      byModel: Object.fromEntries([...this.byModel].map(([id, t]) => [id, copy(t)])),
    };
  }

  reset(): void {
    this.since = this.now();
    this.total = emptyTotals();
    this.byKey = new Map();
    this.byProvider = new Map();
    this.byModel = new Map();
  }
}

function emptyTotals(): UsageTotals {
  return { attempts: 0, successes: 0, failures: {}, inputTokens: 0, outputTokens: 0, costUsd: 0, unpricedSuccesses: 0 };
}

function add(t: UsageTotals, outcome: AttemptOutcome, usage: Usage | undefined, cost: EstimatedCost | undefined): void {
  t.attempts++;
  if (outcome !== 'success') {
    t.failures[outcome] = (t.failures[outcome] ?? 0) + 1;
    return;
  }
  t.successes++;
  if (usage !== undefined) {
    t.inputTokens += usage.inputTokens;
    t.outputTokens += usage.outputTokens;
  }
  if (cost === 'unknown') t.unpricedSuccesses++;
  else if (cost !== undefined) t.costUsd = Math.round((t.costUsd + cost) * 1e9) / 1e9;
}

function copy(t: UsageTotals): UsageTotals {
  return { ...t, failures: { ...t.failures } };
}
