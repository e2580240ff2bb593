import type { Clock } from '../clock';
import type { Outcome } from '../health/health.interfaces';
import { initialHealth, transition } from '../health/transitions';
import { availableAt, newKeyEntry, snapshotRow, windowStartOf } from './availability';
import type { KeyEntry, KeyOverride, KeyStateSnapshot, Lease, StateStore, StoreHealth, StoreKeySpec } from './store.interfaces';

interface MemoryEntry extends KeyEntry {
  /** token → expiry */
  leases: Map<string, number>;
}

/** In-process state store (the default): exact, synchronous under the hood, no I/O. */
export class MemoryStateStore implements StateStore {
  readonly backend = 'memory' as const;
  private entries = new Map<string, MemoryEntry>();
  /** Keys an operator disabled (kept across reloads until enabled again). */
  private readonly operatorDisabled = new Set<string>();
  private seq = 0;

  constructor(private readonly clock: Clock) {}

  async sync(keys: readonly StoreKeySpec[]): Promise<KeyEntry[]> {
    const next = new Map<string, MemoryEntry>();
    const out: KeyEntry[] = [];
    for (const spec of keys) {
      const e = this.entries.get(spec.keyId) ?? newEntry(spec);
      e.spec = spec;
      if (!spec.enabled || this.operatorDisabled.has(spec.keyId)) e.state = 'DISABLED';
      else if (e.state === 'DISABLED') Object.assign(e, initialHealth(true));
      next.set(spec.keyId, e);
      out.push(e);
    }
    this.entries = next;
    return out;
  }

  async lease(entry: KeyEntry, ttlMs: number): Promise<Lease | null> {
    return this.leaseSync(entry, ttlMs);
  }

  /** The synchronous core of {@link lease} (the engine and benchmarks call it through `lease`). */
  leaseSync(entry: KeyEntry, ttlMs: number): Lease | null {
    const e = this.entries.get(entry.keyId);
    if (e === undefined || e !== entry) return null; // removed by a reload
    const now = this.clock.now();
    if (e.inFlight > 0 && e.leaseMinExpiry <= now) purgeExpired(e, now);
    if (availableAt(e, now) !== 0) return null;
    const token = String(++this.seq);
    const expiresAt = now + ttlMs;
    e.leases.set(token, expiresAt);
    e.inFlight = e.leases.size;
    if (expiresAt < e.leaseMinExpiry) e.leaseMinExpiry = expiresAt;
    if (e.spec.rateLimitRpm > 0 || e.spec.rateLimitTpm > 0) {
      const ws = windowStartOf(now);
      if (e.windowStart !== ws) {
        e.windowStart = ws;
        e.windowRequests = 0;
        e.windowTokens = 0;
      }
      e.windowRequests++;
    }
    return { keyId: e.keyId, token, expiresAt };
  }

  async report(lease: Lease, outcome: Outcome, tokens: number): Promise<void> {
    const e = this.entries.get(lease.keyId);
    if (e === undefined) return;
    const now = this.clock.now();
    const next = transition(e, outcome, now, e.spec.health);
    if (next !== e) {
      e.state = next.state;
      e.until = next.until;
      e.consecutiveFailures = next.consecutiveFailures;
    }
    if (tokens > 0 && e.spec.rateLimitTpm > 0) {
      const ws = windowStartOf(now);
      if (e.windowStart !== ws) {
        e.windowStart = ws;
        e.windowRequests = 0;
        e.windowTokens = 0;
      }
      e.windowTokens += tokens;
    }
    releaseToken(e, lease.token);
  }

  async release(lease: Lease): Promise<void> {
    const e = this.entries.get(lease.keyId);
    if (e !== undefined) releaseToken(e, lease.token);
  }

  async snapshot(): Promise<KeyStateSnapshot[]> {
    const now = this.clock.now();
    const out: KeyStateSnapshot[] = [];
    for (const e of this.entries.values()) {
      if (e.inFlight > 0 && e.leaseMinExpiry <= now) purgeExpired(e, now);
      out.push(snapshotRow(e, now));
    }
    return out;
  }

  async override(keyId: string, action: KeyOverride): Promise<boolean> {
    const e = this.entries.get(keyId);
    if (e === undefined) return false;
    if (action === 'disable') {
      this.operatorDisabled.add(keyId);
      e.state = 'DISABLED';
    } else if (action === 'enable') {
      this.operatorDisabled.delete(keyId);
      if (e.spec.enabled && e.state === 'DISABLED') Object.assign(e, initialHealth(true));
    } else if (e.state !== 'DISABLED') {
      Object.assign(e, initialHealth(true));
    }
    return true;
  }

  health(): StoreHealth {
    return { backend: 'memory', status: 'up' };
  }

  async close(): Promise<void> {
    /* nothing to release */
  }
}

function newEntry(spec: StoreKeySpec): MemoryEntry {
  return { ...newKeyEntry(spec), leases: new Map() };
}

function releaseToken(e: MemoryEntry, token: string): void {
  const exp = e.leases.get(token);
  if (exp === undefined) return; // already released, or expired and purged: fenced
  e.leases.delete(token);
  e.inFlight = e.leases.size;
  if (exp === e.leaseMinExpiry) recomputeMin(e);
}

function purgeExpired(e: MemoryEntry, now: number): void {
  for (const [t, exp] of e.leases) if (exp <= now) e.leases.delete(t);
  e.inFlight = e.leases.size;
  recomputeMin(e);
}

function recomputeMin(e: MemoryEntry): void {
  let min = Infinity;
  for (const exp of e.leases.values()) if (exp < min) min = exp;
  e.leaseMinExpiry = min;
}
