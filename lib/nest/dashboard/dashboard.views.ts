import type { KeyState } from '../../core/health/health.interfaces';
import type { UsageSummary, UsageTotals } from '../../core/observability/usage-summary';
import type { PoolSnapshot } from '../../core/snapshot.interfaces';
import type { UsageEvent } from '../../core/types';
import type {
  DashboardEventView,
  DashboardKeyView,
  DashboardProviderView,
  DashboardRecentStats,
  DashboardStatusView,
} from './dashboard.interfaces';
import type { RecentEvents } from './recent-events';

/*
 * Pure functions from the engine's public views (snapshot, usage summary, recent events) to the dashboard's JSON.
 * Fields are copied one by one: whatever else an object carries never reaches the page.
 */

const STATES: readonly KeyState[] = ['ACTIVE', 'PROBATION', 'COOLDOWN', 'QUARANTINE', 'DISABLED'];

export function statusView(
  snap: PoolSnapshot,
  summary: UsageSummary,
  buffer: RecentEvents,
  pool: string | undefined,
  actions: boolean,
  now: number,
): DashboardStatusView {
  const byState = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<KeyState, number>;
  let available = 0;
  for (const k of snap.keys) {
    byState[k.state]++;
    if (k.available) available++;
  }
  const providers: DashboardProviderView[] = Object.entries(snap.providers).map(([provider, p]) => ({
    provider: provider as DashboardProviderView['provider'],
    keys: p.keys,
    available: p.available,
  }));
  const store: DashboardStatusView['store'] = { backend: snap.store.backend, status: snap.store.status };
  if (snap.store.detail !== undefined) store.detail = snap.store.detail;
  return {
    pool: pool ?? null,
    generatedAt: new Date(now).toISOString(),
    now,
    strategy: snap.strategy,
    store,
    providers,
    keys: { total: snap.keys.length, available, byState },
    actions,
    recentEvents: { capacity: buffer.capacity, size: buffer.size, total: buffer.total },
    usageSince: summary.since,
  };
}

export function keyViews(snap: PoolSnapshot, summary: UsageSummary, recent: ReadonlyMap<string, DashboardRecentStats>, now: number): DashboardKeyView[] {
  return snap.keys.map((k) => {
    const untilMs = k.until === null ? NaN : Date.parse(k.until);
    const view: DashboardKeyView = {
      keyId: k.keyId,
      provider: k.provider,
      models: [...k.models],
      priority: k.priority,
      weight: k.weight,
      state: k.state,
      until: k.until,
      msLeft: Number.isFinite(untilMs) ? Math.max(0, untilMs - now) : null,
      consecutiveFailures: k.consecutiveFailures,
      leasesInUse: k.leasesInUse,
      requestsThisMinute: k.requestsThisMinute,
      tokensThisMinute: k.tokensThisMinute,
      available: k.available,
      recent: recent.get(k.keyId) ?? { attempts: 0, successes: 0, successRate: null },
      usage: totals(summary.byKey[k.keyId]),
    };
    if (k.reason !== undefined) view.reason = k.reason;
    return view;
  });
}

/** Per key, the attempts and successes among the buffered events, and the last outcome. */
export function recentStats(buffer: RecentEvents): Map<string, DashboardRecentStats> {
  const out = new Map<string, DashboardRecentStats & { lastTs: number }>();
  buffer.forEachSince(0, (e) => {
    let s = out.get(e.keyId);
    if (s === undefined) out.set(e.keyId, (s = { attempts: 0, successes: 0, successRate: null, lastTs: 0 }));
    s.lastOutcome = e.outcome;
    s.lastTs = e.timestamp;
    // The caller's own abort or fault says nothing of the key.
    if (e.outcome === 'cancelled' || e.outcome === 'bad_request') return;
    s.attempts++;
    if (e.outcome === 'success') s.successes++;
  });
  const stats = new Map<string, DashboardRecentStats>();
  for (const [keyId, s] of out) {
    const view: DashboardRecentStats = { attempts: s.attempts, successes: s.successes, successRate: s.attempts === 0 ? null : s.successes / s.attempts };
    if (s.lastOutcome !== undefined) view.lastOutcome = s.lastOutcome;
    view.lastAt = new Date(s.lastTs).toISOString();
    stats.set(keyId, view);
  }
  return stats;
}

export function eventViews(buffer: RecentEvents, afterSeq: number, limit = Infinity): DashboardEventView[] {
  const out: DashboardEventView[] = [];
  const from = Math.max(afterSeq, buffer.total - limit);
  buffer.forEachSince(from, (e, seq) => out.push(eventView(e, seq)));
  return out;
}

export function eventView(e: UsageEvent, seq: number): DashboardEventView {
  const v: DashboardEventView = {
    seq,
    at: new Date(e.timestamp).toISOString(),
    timestamp: e.timestamp,
    requestId: e.requestId,
    source: e.source,
    provider: e.provider,
    model: e.model,
    keyId: e.keyId,
    outcome: e.outcome,
    latencyMs: e.latencyMs,
    attempt: e.attempt,
    fallback: e.fallback,
  };
  if (e.errorClass !== undefined) v.errorClass = e.errorClass;
  if (e.status !== undefined) v.status = e.status;
  if (e.inputTokens !== undefined) v.inputTokens = e.inputTokens;
  if (e.outputTokens !== undefined) v.outputTokens = e.outputTokens;
  if (e.cachedInputTokens !== undefined) v.cachedInputTokens = e.cachedInputTokens;
  if (e.costUsd !== undefined) v.costUsd = e.costUsd;
  return v;
}

export function totals(t: UsageTotals | undefined): UsageTotals {
  if (t === undefined) return { attempts: 0, successes: 0, failures: {}, inputTokens: 0, outputTokens: 0, costUsd: 0, unpricedSuccesses: 0 };
  return {
    attempts: t.attempts,
    successes: t.successes,
    failures: { ...t.failures },
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    costUsd: t.costUsd,
    unpricedSuccesses: t.unpricedSuccesses,
  };
}

/** When the soonest cooldown or quarantine ends (epoch ms), or undefined. */
export function soonestExpiry(keys: readonly DashboardKeyView[], now: number): number | undefined {
  let min: number | undefined;
  for (const k of keys) if (k.msLeft !== null && k.msLeft > 0 && (min === undefined || now + k.msLeft < min)) min = now + k.msLeft;
  return min;
}
