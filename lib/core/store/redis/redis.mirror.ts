import type { KeyState, Outcome } from '../../health/health.interfaces';
import { initialHealth, transition } from '../../health/transitions';
import { availableAt, newKeyEntry, WINDOW_MS, windowStartOf } from '../availability';
import type { KeyEntry, KeyOverride, StoreKeySpec } from '../store.interfaces';
import { ROW_FIELDS } from './redis.scripts';

/**
 * One key's local mirror: what strategies read synchronously. Refreshed from every script reply (times are
 * translated from Redis' clock to the local one), and the whole truth while Redis is unreachable.
 */
export interface RedisEntry extends KeyEntry {
  /** Redis key of the state hash. */
  readonly sk: string;
  /** Redis key of the lease sorted set. */
  readonly lk: string;
  /** Leases this process holds: token → expiry (local clock). Counted alone while degraded. */
  readonly held: Map<string, number>;
  /** Lease tokens to free in Redis at the next resync (settled, or possibly taken, while Redis was unreachable). */
  orphans: string[];
  /** Health changed locally (while degraded) and not yet pushed to Redis. */
  dirty: boolean;
  /** Not yet registered in Redis by a successful sync of this worker (it may revive a retired key). */
  fresh: boolean;
  /** Retired in Redis by a reload (of any worker): not leased until a sync re-adds it. */
  retired: boolean;
  /** Disabled by an operator (any worker's \`disableKey\` / dashboard): not leased until enabled. */
  operatorDisabled: boolean;
  /** An operator's action taken while Redis was unreachable, sent when it is back. */
  pendingOverride: KeyOverride | undefined;
  /**
   * Operations applied to the mirror at once and sent behind the caller's answer whose reply has not arrived yet:
   * reports and overrides (`pendingHealth`), reports and releases (`pendingFrees`). A reply older than one of them
   * does not overwrite the health it changed, and counts its lease as already freed.
   */
  pendingHealth: number;
  pendingFrees: number;
  /** A warning about this key's Redis data was logged and the key has not been healthy since (one warning per fault). */
  faultLogged: boolean;
  /**
   * `until` as snapshots show it: Redis' own deadline (the same in every worker), or the local one while degraded.
   * `until` itself is on the local clock for the strategies.
   */
  shownUntil: number;
}

/** At most this many tokens wait per key; older ones simply expire in Redis by their lease TTL. */
const MAX_ORPHANS = 1000;

const STATES: ReadonlySet<string> = new Set<KeyState>(['ACTIVE', 'COOLDOWN', 'QUARANTINE', 'PROBATION']);

export function newRedisEntry(spec: StoreKeySpec, sk: string, lk: string): RedisEntry {
  return {
    ...newKeyEntry(spec),
    sk,
    lk,
    held: new Map(),
    orphans: [],
    dirty: false,
    fresh: true,
    retired: false,
    operatorDisabled: false,
    pendingOverride: undefined,
    pendingHealth: 0,
    pendingFrees: 0,
    faultLogged: false,
    shownUntil: 0,
  };
}

/** The latest epoch ms a `Date` can hold: no deadline in the mirror goes past it, whatever Redis holds. */
const MAX_DATE_MS = 8.64e15;

/** A number from a reply, as a finite value in [lo, MAX_DATE_MS] (anything else reads as `lo`). */
function num(v: string | undefined, lo = 0): number {
  const n = Number(v);
  if (!(n >= lo)) return lo;
  return n > MAX_DATE_MS ? MAX_DATE_MS : n;
}

/** A key's row from a script reply (see ROW_FIELDS): its fields, its flag, and the error text of flag 2. */
export interface Row {
  readonly f: readonly string[];
  readonly flag: number;
  readonly msg: string;
}

export function parseRow(v: string | number | undefined): Row {
  const str = String(v ?? '');
  const bar = str.indexOf('|');
  const f = (bar < 0 ? str : str.slice(0, bar)).split(' ');
  return { f, flag: f.length >= ROW_FIELDS ? Number(f[9]) : 2, msg: bar < 0 ? (f.length >= ROW_FIELDS ? '' : 'malformed reply') : str.slice(bar + 1) };
}

/**
 * Refreshes the mirror from a row. `offset` = Redis time − local time, so local timers compare with the local
 * clock. Operations applied locally and not yet answered keep their effect: the health they changed is kept, and
 * the leases they free are not counted again.
 */
export function applyRow(e: RedisEntry, row: Row, offset: number): void {
  const r = row.f;
  const x = r[8];
  e.retired = x === '1';
  e.operatorDisabled = x === '2';
  if (e.pendingHealth === 0) {
    const s = r[0];
    const u = num(r[1]);
    e.state = !e.spec.enabled || e.retired || e.operatorDisabled ? 'DISABLED' : STATES.has(s) ? (s as KeyState) : 'ACTIVE';
    e.until = u > 0 ? u - offset : 0;
    e.shownUntil = u;
    e.consecutiveFailures = num(r[2]);
  } else if (!e.spec.enabled || e.retired || e.operatorDisabled) {
    e.state = 'DISABLED';
  }
  const counted = num(r[3], -1);
  if (counted >= 0) {
    // Not counted (-1): a key without maxConcurrent, whose count only snapshots need (SYNC counts).
    const n = counted - e.pendingFrees;
    const m = num(r[4], -1);
    e.inFlight = n > 0 ? n : 0;
    e.leaseMinExpiry = m < 0 || n <= 0 ? Infinity : m - offset;
  }
  const ws = num(r[5]);
  e.windowStart = ws > 0 ? ws - offset : 0;
  e.windowRequests = num(r[6]);
  e.windowTokens = num(r[7]);
}

/**
 * Applies an outcome to the mirror at once (its report is on its way to Redis): the transition, the tokens, and one
 * lease fewer. Returns whether the health changed. `offset` translates the new deadline to Redis' clock for snapshots.
 */
export function applyReport(e: RedisEntry, outcome: Outcome, tokens: number, now: number, offset: number): boolean {
  const changed = applyTransition(e, outcome, now);
  if (changed) e.shownUntil = e.until > 0 ? e.until + offset : 0;
  if (tokens > 0 && e.spec.rateLimitTpm > 0) {
    rollWindow(e, now);
    e.windowTokens += tokens;
  }
  if (e.inFlight > 0) e.inFlight--;
  return changed;
}

/** `transition()` on the mirror, every wait capped at the key's maxBenchMs; true when the health changed. */
function applyTransition(e: RedisEntry, outcome: Outcome, now: number): boolean {
  const settings = e.spec.health;
  const next = transition(e, outcome, now, settings);
  if (next === e) return false;
  const cap = now + settings.maxBenchMs;
  const until = next.until > cap ? cap : next.until;
  if (next.state === e.state && until === e.until && next.consecutiveFailures === e.consecutiveFailures) return false;
  e.state = next.state;
  e.until = until;
  e.consecutiveFailures = next.consecutiveFailures;
  return true;
}

// ───────────── local evaluation (Redis unreachable): the memory store's rules over the mirror ─────────────

/** Switches an entry to local lease accounting: only this process's own leases count. */
export function toLocalAccounting(e: RedisEntry, now: number): void {
  purgeHeld(e, now);
}

export function localLease(e: RedisEntry, token: string, ttlMs: number, now: number): number | null {
  if (e.held.size > 0 && e.leaseMinExpiry <= now) purgeHeld(e, now);
  if (availableAt(e, now) !== 0) return null;
  const expiresAt = now + ttlMs;
  e.held.set(token, expiresAt);
  e.inFlight = e.held.size;
  if (expiresAt < e.leaseMinExpiry) e.leaseMinExpiry = expiresAt;
  if (e.spec.rateLimitRpm > 0 || e.spec.rateLimitTpm > 0) {
    rollWindow(e, now);
    e.windowRequests++;
  }
  return expiresAt;
}

export function localReport(e: RedisEntry, outcome: Outcome, tokens: number, now: number): void {
  if (applyTransition(e, outcome, now)) {
    e.shownUntil = e.until;
    e.dirty = true;
  }
  if (tokens > 0 && e.spec.rateLimitTpm > 0) {
    rollWindow(e, now);
    e.windowTokens += tokens;
  }
}

/** An operator's action on the mirror alone (Redis unreachable); the store sends it when Redis is back. */
export function localOverride(e: RedisEntry, action: KeyOverride): void {
  if (action === 'disable') {
    e.operatorDisabled = true;
    e.state = 'DISABLED';
  } else if (action === 'enable') {
    if (e.operatorDisabled && e.spec.enabled && !e.retired) Object.assign(e, initialHealth(true));
    e.operatorDisabled = false;
  } else if (e.state !== 'DISABLED') {
    Object.assign(e, initialHealth(true));
  }
  e.shownUntil = e.until;
  e.pendingOverride = action;
}

/** Forgets a lease locally and remembers to free it in Redis later. */
export function localRelease(e: RedisEntry, token: string, now: number): void {
  e.held.delete(token);
  addOrphan(e, token);
  purgeHeld(e, now);
}

export function addOrphan(e: RedisEntry, token: string): void {
  if (e.orphans.length >= MAX_ORPHANS) e.orphans.shift();
  e.orphans.push(token);
}

function purgeHeld(e: RedisEntry, now: number): void {
  let min = Infinity;
  for (const [t, exp] of e.held) {
    if (exp <= now) e.held.delete(t);
    else if (exp < min) min = exp;
  }
  e.inFlight = e.held.size;
  e.leaseMinExpiry = min;
}

function rollWindow(e: RedisEntry, now: number): void {
  if (e.windowStart + WINDOW_MS <= now || e.windowStart > now) {
    e.windowStart = windowStartOf(now);
    e.windowRequests = 0;
    e.windowTokens = 0;
  }
}
