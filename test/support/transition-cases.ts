import type { KeyState } from '../../lib';
import type { HealthSettings } from '../../lib/core/health/health.interfaces';

/**
 * SPEC §4's health transitions as one table, run against the pure `transition()` (memory store) and the Redis
 * store's Lua script: one source of truth for both. Times are relative to the moment of the report ("now"),
 * so the same case works with a fixed clock and with Redis' own `TIME`.
 */
export interface TransitionCase {
  name: string;
  /** Stored state before the report; `untilIn`: ms from now (negative: the timer ran out, the key reads PROBATION). */
  before: { state: KeyState; untilIn?: number; failures: number };
  outcome:
    | { kind: 'success'; cooldownIn?: number }
    | { kind: 'rate_limit'; retryAfterMs?: number }
    | { kind: 'auth' | 'transient' | 'bad_request' | 'cancelled' };
  /** Stored state after; `until`: 'same' (unchanged), 0, or ms from now. */
  after: { state: KeyState; until: 'same' | number; failures: number };
  /** DISABLED is never stored in Redis (disabled keys are never leased there). */
  memoryOnly?: boolean;
}

export const CASE_SETTINGS: HealthSettings = { cooldownMs: 60_000, quarantineMs: 300_000, maxConsecutiveFailures: 3, maxBenchMs: 3_600_000 };

const C = CASE_SETTINGS.cooldownMs;
const Q = CASE_SETTINGS.quarantineMs;
const CAP = CASE_SETTINGS.maxBenchMs;

export const TRANSITION_CASES: TransitionCase[] = [
  // success
  { name: 'ACTIVE + success stays ACTIVE', before: { state: 'ACTIVE', failures: 0 }, outcome: { kind: 'success' }, after: { state: 'ACTIVE', until: 0, failures: 0 } },
  { name: 'a success clears consecutive failures', before: { state: 'ACTIVE', failures: 2 }, outcome: { kind: 'success' }, after: { state: 'ACTIVE', until: 0, failures: 0 } },
  { name: 'PROBATION (cooldown ran out) + success → ACTIVE', before: { state: 'COOLDOWN', untilIn: -1000, failures: 0 }, outcome: { kind: 'success' }, after: { state: 'ACTIVE', until: 0, failures: 0 } },
  { name: 'PROBATION (quarantine ran out) + success → ACTIVE', before: { state: 'QUARANTINE', untilIn: -1, failures: 3 }, outcome: { kind: 'success' }, after: { state: 'ACTIVE', until: 0, failures: 0 } },
  { name: 'a success during a cooldown (lent key) does not lift it, clears failures', before: { state: 'COOLDOWN', untilIn: 5000, failures: 1 }, outcome: { kind: 'success' }, after: { state: 'COOLDOWN', until: 'same', failures: 0 } },
  { name: 'a success during a quarantine does not lift it', before: { state: 'QUARANTINE', untilIn: 5000, failures: 0 }, outcome: { kind: 'success' }, after: { state: 'QUARANTINE', until: 'same', failures: 0 } },
  { name: 'a success saying the window is spent cools the key until the reset', before: { state: 'ACTIVE', failures: 1 }, outcome: { kind: 'success', cooldownIn: 20_000 }, after: { state: 'COOLDOWN', until: 20_000, failures: 0 } },
  { name: 'a spent-window success never shortens a later cooldown', before: { state: 'COOLDOWN', untilIn: 60_000, failures: 0 }, outcome: { kind: 'success', cooldownIn: 20_000 }, after: { state: 'COOLDOWN', until: 'same', failures: 0 } },
  { name: 'a spent-window success extends a sooner cooldown', before: { state: 'COOLDOWN', untilIn: 5000, failures: 0 }, outcome: { kind: 'success', cooldownIn: 20_000 }, after: { state: 'COOLDOWN', until: 20_000, failures: 0 } },
  { name: 'a spent-window success keeps a quarantine (worse state)', before: { state: 'QUARANTINE', untilIn: 5000, failures: 2 }, outcome: { kind: 'success', cooldownIn: 20_000 }, after: { state: 'QUARANTINE', until: 20_000, failures: 0 } },
  // rate limit
  { name: 'ACTIVE + rate limit → COOLDOWN for the provider default', before: { state: 'ACTIVE', failures: 1 }, outcome: { kind: 'rate_limit' }, after: { state: 'COOLDOWN', until: C, failures: 1 } },
  { name: 'a rate limit honours retry-after', before: { state: 'ACTIVE', failures: 0 }, outcome: { kind: 'rate_limit', retryAfterMs: 5000 }, after: { state: 'COOLDOWN', until: 5000, failures: 0 } },
  { name: 'retry-after 0 falls back to the default cooldown', before: { state: 'ACTIVE', failures: 0 }, outcome: { kind: 'rate_limit', retryAfterMs: 0 }, after: { state: 'COOLDOWN', until: C, failures: 0 } },
  { name: 'a new rate limit never shortens a cooldown', before: { state: 'COOLDOWN', untilIn: 30_000, failures: 0 }, outcome: { kind: 'rate_limit', retryAfterMs: 5000 }, after: { state: 'COOLDOWN', until: 'same', failures: 0 } },
  { name: 'a new rate limit extends a cooldown to the later deadline', before: { state: 'COOLDOWN', untilIn: 5000, failures: 0 }, outcome: { kind: 'rate_limit', retryAfterMs: 30_000 }, after: { state: 'COOLDOWN', until: 30_000, failures: 0 } },
  { name: 'a rate limit during a quarantine keeps QUARANTINE with the later deadline', before: { state: 'QUARANTINE', untilIn: 10_000, failures: 1 }, outcome: { kind: 'rate_limit', retryAfterMs: 60_000 }, after: { state: 'QUARANTINE', until: 60_000, failures: 1 } },
  { name: 'PROBATION + rate limit → COOLDOWN afresh', before: { state: 'QUARANTINE', untilIn: -5, failures: 2 }, outcome: { kind: 'rate_limit' }, after: { state: 'COOLDOWN', until: C, failures: 2 } },
  // auth
  { name: 'ACTIVE + auth failure → QUARANTINE', before: { state: 'ACTIVE', failures: 0 }, outcome: { kind: 'auth' }, after: { state: 'QUARANTINE', until: Q, failures: 1 } },
  { name: 'auth during a longer cooldown → QUARANTINE keeping the later deadline', before: { state: 'COOLDOWN', untilIn: 400_000, failures: 0 }, outcome: { kind: 'auth' }, after: { state: 'QUARANTINE', until: 'same', failures: 1 } },
  { name: 'PROBATION + auth → QUARANTINE', before: { state: 'COOLDOWN', untilIn: -1000, failures: 0 }, outcome: { kind: 'auth' }, after: { state: 'QUARANTINE', until: Q, failures: 1 } },
  // transient
  { name: 'a transient failure counts one failure', before: { state: 'ACTIVE', failures: 0 }, outcome: { kind: 'transient' }, after: { state: 'ACTIVE', until: 0, failures: 1 } },
  { name: 'N consecutive failures → QUARANTINE', before: { state: 'ACTIVE', failures: 2 }, outcome: { kind: 'transient' }, after: { state: 'QUARANTINE', until: Q, failures: 3 } },
  { name: 'PROBATION + one failure → QUARANTINE', before: { state: 'COOLDOWN', untilIn: -1000, failures: 0 }, outcome: { kind: 'transient' }, after: { state: 'QUARANTINE', until: Q, failures: 1 } },
  { name: 'a transient failure during a cooldown counts but keeps the cooldown', before: { state: 'COOLDOWN', untilIn: 5000, failures: 1 }, outcome: { kind: 'transient' }, after: { state: 'COOLDOWN', until: 'same', failures: 2 } },
  { name: 'the Nth failure during a cooldown quarantines (later deadline)', before: { state: 'COOLDOWN', untilIn: 5000, failures: 2 }, outcome: { kind: 'transient' }, after: { state: 'QUARANTINE', until: Q, failures: 3 } },
  // not the key's fault
  { name: 'a cancelled call changes nothing', before: { state: 'ACTIVE', failures: 1 }, outcome: { kind: 'cancelled' }, after: { state: 'ACTIVE', until: 0, failures: 1 } },
  { name: 'a caller\'s bad request changes nothing', before: { state: 'ACTIVE', failures: 2 }, outcome: { kind: 'bad_request' }, after: { state: 'ACTIVE', until: 0, failures: 2 } },
  { name: 'a bad request never lifts or extends a cooldown', before: { state: 'COOLDOWN', untilIn: 5000, failures: 0 }, outcome: { kind: 'bad_request' }, after: { state: 'COOLDOWN', until: 'same', failures: 0 } },
  { name: 'a cancel during PROBATION leaves it lazily PROBATION', before: { state: 'QUARANTINE', untilIn: -1000, failures: 3 }, outcome: { kind: 'cancelled' }, after: { state: 'QUARANTINE', until: 'same', failures: 3 } },
  // every bench is capped at maxBenchMs (maxCooldownSeconds), whatever a header or a stored deadline says
  { name: 'an absurd retry-after is capped at maxBenchMs', before: { state: 'ACTIVE', failures: 0 }, outcome: { kind: 'rate_limit', retryAfterMs: 1e12 }, after: { state: 'COOLDOWN', until: CAP, failures: 0 } },
  { name: 'a retry-after beyond any date is capped at maxBenchMs', before: { state: 'ACTIVE', failures: 1 }, outcome: { kind: 'rate_limit', retryAfterMs: 1e20 }, after: { state: 'COOLDOWN', until: CAP, failures: 1 } },
  { name: 'a spent-window success resetting far away is capped', before: { state: 'ACTIVE', failures: 0 }, outcome: { kind: 'success', cooldownIn: 1e13 }, after: { state: 'COOLDOWN', until: CAP, failures: 0 } },
  { name: 'a new rate limit extends a cooldown up to the cap, not beyond', before: { state: 'COOLDOWN', untilIn: 3_000_000, failures: 0 }, outcome: { kind: 'rate_limit', retryAfterMs: 1e10 }, after: { state: 'COOLDOWN', until: CAP, failures: 0 } },
  { name: 'a stored cooldown beyond the cap is brought back to it by the next rate limit', before: { state: 'COOLDOWN', untilIn: 1e12, failures: 0 }, outcome: { kind: 'rate_limit', retryAfterMs: 5000 }, after: { state: 'COOLDOWN', until: CAP, failures: 0 } },
  { name: 'a stored quarantine beyond the cap is brought back to it by a transient failure', before: { state: 'QUARANTINE', untilIn: 1e12, failures: 0 }, outcome: { kind: 'transient' }, after: { state: 'QUARANTINE', until: CAP, failures: 1 } },
  { name: 'auth during a cooldown beyond the cap → QUARANTINE at the cap', before: { state: 'COOLDOWN', untilIn: 1e12, failures: 0 }, outcome: { kind: 'auth' }, after: { state: 'QUARANTINE', until: CAP, failures: 1 } },
  { name: 'a cooldown within the cap is never shortened by a sooner rate limit', before: { state: 'COOLDOWN', untilIn: 3_500_000, failures: 0 }, outcome: { kind: 'rate_limit', retryAfterMs: 1000 }, after: { state: 'COOLDOWN', until: 'same', failures: 0 } },
  // disabled
  { name: 'a DISABLED key ignores every outcome', before: { state: 'DISABLED', failures: 0 }, outcome: { kind: 'rate_limit' }, after: { state: 'DISABLED', until: 0, failures: 0 }, memoryOnly: true },
];
