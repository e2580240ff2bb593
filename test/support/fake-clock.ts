import type { Clock } from '../../lib';

/** A clock tests move by hand: timers in the engine and the memory store advance without sleeping. */
export class FakeClock implements Clock {
  private sleepers: Array<{ at: number; resolve: () => void }> = [];

  constructor(private t = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.t;
  }

  advance(ms: number): void {
    this.t += ms;
    const due = this.sleepers.filter((s) => s.at <= this.t);
    this.sleepers = this.sleepers.filter((s) => s.at > this.t);
    for (const s of due) s.resolve();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const entry = { at: this.t + ms, resolve };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        reject(signal.reason);
      });
    });
  }

  /** Sleepers waiting now (lets a test advance exactly when the engine waits). */
  get pending(): number {
    return this.sleepers.length;
  }
}
