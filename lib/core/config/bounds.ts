/**
 * The documented ranges of every number in the options (README "Bounds"). Durations are bounded below 2^31 ms
 * because Node turns a longer `setTimeout` into 1 ms (every call would time out at once); scores and weights are
 * bounded so no arithmetic on them can reach ±Infinity.
 */

/** The longest delay `setTimeout` honours: 2^31 − 1 ms (about 24.8 days). Every duration option is at most this. */
export const MAX_TIMER_MS = 2_147_483_647;

/** `cooldownSeconds`, `quarantineSeconds` and `maxCooldownSeconds` are at most this (MAX_TIMER_MS in seconds). */
export const MAX_DURATION_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** `priority` (and `priorities.<keyId>`) lies in [−PRIORITY_LIMIT, PRIORITY_LIMIT]. */
export const PRIORITY_LIMIT = 1_000_000;

/** `weight` lies in [0, WEIGHT_LIMIT]. */
export const WEIGHT_LIMIT = 1_000_000;

/** Counts (`maxConcurrent`, `rateLimitRpm`, `rateLimitTpm`) are integers up to this. */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/**
 * A delay that is safe to hand to `setTimeout`: NaN and negatives become 0, anything above
 * {@link MAX_TIMER_MS} becomes MAX_TIMER_MS (split longer waits with {@link sleepSplit}).
 */
export function boundedDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms;
}

/**
 * Sleeps `ms` (any length, even beyond 2^31 − 1 ms; Infinity: until `signal` aborts) as a chain of timers each within {@link MAX_TIMER_MS},
 * so a long wait never overflows into a 1 ms timer. `sleep` is the underlying one-timer sleep (a Clock's);
 * an abort of `signal` rejects with its reason, as `sleep` does.
 */
export async function sleepSplit(ms: number, sleep: (ms: number, signal?: AbortSignal) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let left = ms > 0 && Number.isFinite(ms) ? ms : ms === Infinity ? Infinity : 0;
  do {
    const step = boundedDelay(left);
    await sleep(step, signal);
    left -= step;
  } while (left > 0);
}
