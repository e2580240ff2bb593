/**
 * Counts the calls in flight (chat, stream, lent keys) so that `close()` can drain: wait until none is left, or
 * until a deadline, before the store's leases and connections are released. One counter, no allocation per call.
 */
export class InFlight {
  private count = 0;
  private onIdle: (() => void) | undefined;

  get size(): number {
    return this.count;
  }

  enter(): void {
    this.count++;
  }

  leave(): void {
    if (--this.count === 0 && this.onIdle !== undefined) this.onIdle();
  }

  /** Resolves true once nothing is in flight, false when `ms` ran out first. Never keeps the process alive. */
  drained(ms: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onIdle = undefined;
        resolve(false);
      }, ms);
      timer.unref();
      this.onIdle = () => {
        clearTimeout(timer);
        this.onIdle = undefined;
        resolve(true);
      };
    });
  }
}
