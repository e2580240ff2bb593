import type { ErrorKind } from '../types';

export type KeyState = 'ACTIVE' | 'COOLDOWN' | 'QUARANTINE' | 'PROBATION' | 'DISABLED';

/** Stored health of one key. Timer states hold `until` (epoch ms); it is 0 otherwise. */
export interface KeyHealth {
  state: KeyState;
  until: number;
  consecutiveFailures: number;
}

/** What a finished attempt tells the state machine. */
export type Outcome =
  | { kind: 'success'; cooldownUntil?: number }
  | { kind: ErrorKind; retryAfterMs?: number }
  | { kind: 'cancelled' };

export interface HealthSettings {
  cooldownMs: number;
  quarantineMs: number;
  maxConsecutiveFailures: number;
  /** The longest any bench (cooldown or quarantine) may last, whatever a header or the config says. */
  maxBenchMs: number;
}
