import { effectiveState, initialHealth } from '../health/transitions';
import type { KeyEntry, KeyStateSnapshot, StoreKeySpec } from './store.interfaces';

export const WINDOW_MS = 60_000;
/** How soon a key busy with `maxConcurrent` leases is looked at again by a waiting call. */
export const BUSY_RETRY_MS = 50;

/**
 * When the key can next be leased: `0` now, an epoch ms later, or `Infinity` never (disabled).
 * Pure over the entry; the hot path of every strategy.
 */
export function availableAt(e: KeyEntry, now: number): number {
  const st = e.state;
  if (st === 'DISABLED') return Infinity;
  if (e.blockedUntil > now) return e.blockedUntil;
  if ((st === 'COOLDOWN' || st === 'QUARANTINE') && e.until > now) return e.until;
  const spec = e.spec;
  if (spec.maxConcurrent > 0 && e.inFlight >= spec.maxConcurrent && e.leaseMinExpiry > now) {
    return Math.min(e.leaseMinExpiry, now + BUSY_RETRY_MS);
  }
  if ((spec.rateLimitRpm > 0 || spec.rateLimitTpm > 0) && e.windowStart + WINDOW_MS > now) {
    if ((spec.rateLimitRpm > 0 && e.windowRequests >= spec.rateLimitRpm) || (spec.rateLimitTpm > 0 && e.windowTokens >= spec.rateLimitTpm)) {
      return e.windowStart + WINDOW_MS;
    }
  }
  return 0;
}

export function windowStartOf(now: number): number {
  return now - (now % WINDOW_MS);
}

/** A fresh entry for a key no store has seen: ACTIVE (DISABLED if not enabled), no leases, an empty window. */
export function newKeyEntry(spec: StoreKeySpec): KeyEntry {
  return {
    keyId: spec.keyId,
    spec,
    ...initialHealth(spec.enabled),
    inFlight: 0,
    leaseMinExpiry: Infinity,
    windowStart: 0,
    windowRequests: 0,
    windowTokens: 0,
    blockedUntil: 0,
  };
}

/** The latest instant a Date can hold (+275760-09-13T00:00:00.000Z): what a deadline beyond it is shown as. */
export const FAR_FUTURE_ISO = new Date(8.64e15).toISOString();

/**
 * A deadline as ISO text that never throws, whatever is stored: beyond the last representable date (or Infinity)
 * it reads {@link FAR_FUTURE_ISO}; a value that is not a number (a corrupt store) reads null.
 */
export function deadlineIso(until: number): string | null {
  if (Number.isNaN(until) || typeof until !== 'number') return null;
  if (until >= 8.64e15) return FAR_FUTURE_ISO;
  if (until <= -8.64e15) return new Date(-8.64e15).toISOString();
  return new Date(until).toISOString();
}

/**
 * A snapshot row of an entry as of `now` (timer states that ran out read as PROBATION). `until` is the deadline
 * to show (a shared store's mirror shows the one Redis holds, on the local clock). Never throws (see deadlineIso).
 */
export function snapshotRow(e: KeyEntry, now: number, until = e.until): KeyStateSnapshot {
  const state = effectiveState(e, now);
  const inWindow = e.windowStart <= now && e.windowStart + WINDOW_MS > now;
  return {
    keyId: e.keyId,
    state,
    until: state === 'COOLDOWN' || state === 'QUARANTINE' ? deadlineIso(until) : null,
    consecutiveFailures: e.consecutiveFailures,
    leasesInUse: e.inFlight,
    requestsThisMinute: inWindow ? e.windowRequests : 0,
    tokensThisMinute: inWindow ? e.windowTokens : 0,
  };
}
