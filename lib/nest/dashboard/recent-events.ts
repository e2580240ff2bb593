import type { UsageEvent } from '../../core/types';

/**
 * The last `capacity` usage events, in a ring allocated once: `push` stores a reference and moves an index (no
 * allocation, no growth, whatever the traffic). Event `n` (1-based, since the buffer was made) has sequence number
 * `n`; the buffer holds `total - size + 1 … total`.
 */
export class RecentEvents {
  private readonly ring: Array<UsageEvent | undefined>;
  private count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<UsageEvent | undefined>(capacity).fill(undefined);
  }

  /** Events pushed since the buffer was made (the newest one's sequence number). */
  get total(): number {
    return this.count;
  }

  /** Events held now. */
  get size(): number {
    return Math.min(this.count, this.capacity);
  }

  push(event: UsageEvent): void {
    if (this.capacity > 0) this.ring[this.count % this.capacity] = event;
    this.count++;
  }

  /** Calls `fn` for each held event with a sequence number above `afterSeq`, oldest first. */
  forEachSince(afterSeq: number, fn: (event: UsageEvent, seq: number) => void): void {
    const first = Math.max(afterSeq + 1, this.count - this.size + 1);
    for (let seq = first; seq <= this.count; seq++) fn(this.ring[(seq - 1) % this.capacity] as UsageEvent, seq);
  }

  /** Drops every event (and starts numbering again). */
  clear(): void {
    this.ring.fill(undefined);
    this.count = 0;
  }
}
