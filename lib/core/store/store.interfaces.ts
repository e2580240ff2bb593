import type { HealthSettings, KeyState, Outcome } from '../health/health.interfaces';

/** What a store needs to know of a key. */
export interface StoreKeySpec {
  readonly keyId: string;
  readonly enabled: boolean;
  /** 0: unlimited. */
  readonly maxConcurrent: number;
  /** 0: unlimited. */
  readonly rateLimitRpm: number;
  /** 0: unlimited. */
  readonly rateLimitTpm: number;
  readonly health: HealthSettings;
}

/**
 * The per-key state a store keeps and strategies read. For the memory store it *is* the state;
 * for a shared store it is the local mirror, refreshed by every round trip (the store re-checks
 * availability atomically when leasing, so a stale mirror can cost a retry but never a wrong lease).
 */
export interface KeyEntry {
  readonly keyId: string;
  spec: StoreKeySpec;
  state: KeyState;
  /** Epoch ms when COOLDOWN/QUARANTINE ends (0 otherwise). */
  until: number;
  consecutiveFailures: number;
  /** Leases held now. */
  inFlight: number;
  /** Soonest expiry among held leases (Infinity when none). */
  leaseMinExpiry: number;
  /** Start (epoch ms) of the current one-minute rate-limit window and what it has used. */
  windowStart: number;
  windowRequests: number;
  windowTokens: number;
  /**
   * Until when (epoch ms, local clock) this process holds the key back because it cannot use it (its secret cannot
   * be resolved, …). Process-local: never shared, never part of the key's health. 0 when not held back.
   */
  blockedUntil: number;
}

export interface Lease {
  readonly keyId: string;
  /** Fencing token: a release or report with a stale token frees nothing. */
  readonly token: string;
  readonly expiresAt: number;
}

export interface StoreHealth {
  backend: 'memory' | 'redis';
  /** `degraded`: the shared store is unreachable and this process serves on local state. */
  status: 'up' | 'degraded';
  detail?: string;
}

export interface KeyStateSnapshot {
  keyId: string;
  state: KeyState;
  /** ISO time when COOLDOWN/QUARANTINE ends; null otherwise. */
  until: string | null;
  consecutiveFailures: number;
  leasesInUse: number;
  requestsThisMinute: number;
  tokensThisMinute: number;
}

/** Shared key health (SPEC §5). Each method is one atomic step (one round trip for a remote store). */
export interface StateStore {
  readonly backend: 'memory' | 'redis';
  /** Registers the key set (start-up and reload) and returns each key's entry, in order. Surviving keys keep their state. */
  sync(keys: readonly StoreKeySpec[]): Promise<KeyEntry[]>;
  /** Atomically re-checks availability and takes a lease; null when the key is not available after all. */
  lease(entry: KeyEntry, ttlMs: number): Promise<Lease | null>;
  /** Applies the outcome to the key's health, counts tokens, and releases the lease: one step. */
  report(lease: Lease, outcome: Outcome, tokens: number): Promise<void>;
  release(lease: Lease): Promise<void>;
  snapshot(): Promise<KeyStateSnapshot[]>;
  /**
   * An operator's action on one key (the dashboard's, or `LlmRotate.disableKey` & co.), shared like any other
   * state: `disable` takes it out of rotation until `enable` (a reload keeps it out); `enable` undoes an operator's
   * disable (a key disabled in the configuration stays disabled); `reset` clears a cooldown or quarantine and the
   * failure count (ACTIVE now). Resolves false when the store does not know the key.
   */
  override(keyId: string, action: KeyOverride): Promise<boolean>;
  health(): StoreHealth;
  close(): Promise<void>;
}

export type KeyOverride = 'disable' | 'enable' | 'reset';
