import type { HealthSettings, KeyHealth, KeyState, Outcome } from './health.interfaces';

/**
 * The health state machine of SPEC §4, as one pure function: the single source of truth.
 * The Redis store's Lua script mirrors it; `test/support/transition-cases.ts` is run against both stores.
 *
 * Timer transitions (COOLDOWN/QUARANTINE → PROBATION) are lazy: they happen when the state is read
 * at or after `until` (see {@link effectiveState}), so no timer runs anywhere.
 *
 * Every deadline this writes is capped at `now + s.maxBenchMs` (the provider's `maxCooldownSeconds`): a
 * `retry-after: 1000000000`, an absurd rate-limit reset or a stored deadline from elsewhere never benches a key
 * longer than that. Within the cap, a bench is never shortened (the later deadline wins).
 */
export function transition(h: KeyHealth, outcome: Outcome, now: number, s: HealthSettings): KeyHealth {
  if (h.state === 'DISABLED') return h;
  const state = effectiveState(h, now);
  const cap = s.maxBenchMs > 0 ? now + s.maxBenchMs : Infinity;
  switch (outcome.kind) {
    case 'cancelled':
    case 'bad_request':
      // Not the key's fault: nothing changes.
      return h;
    case 'success': {
      if (outcome.cooldownUntil !== undefined && outcome.cooldownUntil > now) {
        // The provider said the window is spent: cool until its reset, never shortening a later deadline.
        return cool(h, state, outcome.cooldownUntil, 0, cap);
      }
      if (state === 'COOLDOWN' || state === 'QUARANTINE') {
        // A success from a lease taken before the key was benched (e.g. a lent key) does not lift the bench early.
        return h.consecutiveFailures === 0 && h.until <= cap ? h : { state: h.state, until: atMost(h.until, cap), consecutiveFailures: 0 };
      }
      if (state === 'ACTIVE' && h.consecutiveFailures === 0) return h;
      return { state: 'ACTIVE', until: 0, consecutiveFailures: 0 };
    }
    case 'rate_limit': {
      const ms = outcome.retryAfterMs !== undefined && outcome.retryAfterMs > 0 ? outcome.retryAfterMs : s.cooldownMs;
      return cool(h, state, now + ms, h.consecutiveFailures, cap);
    }
    case 'auth':
      return quarantine(h, state, now + s.quarantineMs, h.consecutiveFailures + 1, cap);
    case 'transient': {
      const failures = h.consecutiveFailures + 1;
      if (state === 'PROBATION' || failures >= s.maxConsecutiveFailures) {
        return quarantine(h, state, now + s.quarantineMs, failures, cap);
      }
      if (state === 'COOLDOWN' || state === 'QUARANTINE') return { state: h.state, until: atMost(h.until, cap), consecutiveFailures: failures };
      return { state: 'ACTIVE', until: 0, consecutiveFailures: failures };
    }
  }
}

function cool(h: KeyHealth, state: KeyState, deadline: number, failures: number, cap: number): KeyHealth {
  if (state === 'QUARANTINE' || state === 'COOLDOWN') {
    // Already benched: keep the worse state (quarantine) and the later deadline (within the cap).
    const until = atMost(later(h.until, deadline), cap);
    return { state: state === 'QUARANTINE' ? 'QUARANTINE' : 'COOLDOWN', until, consecutiveFailures: failures };
  }
  return { state: 'COOLDOWN', until: atMost(deadline, cap), consecutiveFailures: failures };
}

function quarantine(h: KeyHealth, state: KeyState, deadline: number, failures: number, cap: number): KeyHealth {
  const until = state === 'QUARANTINE' || state === 'COOLDOWN' ? later(h.until, deadline) : deadline;
  return { state: 'QUARANTINE', until: atMost(until, cap), consecutiveFailures: failures };
}

/** The later of a stored deadline and a new one; a stored NaN (corrupt) counts as no deadline. */
function later(stored: number, deadline: number): number {
  return stored > deadline ? stored : deadline;
}

/** `until` capped; NaN (corrupt) becomes the cap, the longest bench allowed, rather than a bench that never ends. */
function atMost(until: number, cap: number): number {
  return until < cap ? until : cap;
}

/** The state as of `now`: a cooldown or quarantine whose timer ran out reads as PROBATION. */
export function effectiveState(h: KeyHealth, now: number): KeyState {
  if ((h.state === 'COOLDOWN' || h.state === 'QUARANTINE') && h.until <= now) return 'PROBATION';
  return h.state;
}

/** Whether the key may be selected at `now` (ignoring leases and rate limits). */
export function isSelectable(h: KeyHealth, now: number): boolean {
  const st = h.state;
  if (st === 'ACTIVE' || st === 'PROBATION') return true;
  if (st === 'DISABLED') return false;
  return h.until <= now;
}

export function initialHealth(enabled: boolean): KeyHealth {
  return { state: enabled ? 'ACTIVE' : 'DISABLED', until: 0, consecutiveFailures: 0 };
}
