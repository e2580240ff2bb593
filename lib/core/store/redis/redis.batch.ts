import type { Lease, KeyOverride } from '../store.interfaces';
import type { RedisEntry } from './redis.mirror';

/** One operation of the BATCH script (see redis.scripts.ts). */
export type BatchOp =
  | { readonly t: 'l'; readonly e: RedisEntry; readonly token: string; readonly ttl: number; readonly done: (lease: Lease | null) => void }
  | {
      readonly t: 'r';
      readonly e: RedisEntry;
      readonly token: string;
      readonly kind: string;
      readonly retryAfterMs: number;
      readonly cooldownInMs: number;
      readonly tokens: number;
      /** The report changed the key's health in the mirror (pushed by the resync if it cannot be delivered). */
      readonly changed: boolean;
    }
  | { readonly t: 'x'; readonly e: RedisEntry; readonly token: string }
  | { readonly t: 'o'; readonly e: RedisEntry; readonly action: KeyOverride; readonly done: (applied: boolean) => void };

/** At most this many operations per script call (a larger tick is split into several calls, in order). */
export const MAX_BATCH_OPS = 256;

/**
 * The arguments of one BATCH call: the distinct keys in order of first use (their state/leases Redis keys, then
 * their settings), then the operations in order. `entries[i]` is the key of the reply's i-th row.
 */
export function batchArgs(ops: readonly BatchOp[]): { args: Array<string | number>; entries: RedisEntry[] } {
  const index = new Map<RedisEntry, number>();
  const entries: RedisEntry[] = [];
  for (const op of ops) {
    if (!index.has(op.e)) {
      index.set(op.e, entries.length + 1);
      entries.push(op.e);
    }
  }
  const args: Array<string | number> = [entries.length * 2];
  for (const e of entries) args.push(e.sk, e.lk);
  for (const e of entries) {
    const s = e.spec;
    const h = s.health;
    args.push(s.maxConcurrent, s.rateLimitRpm, s.rateLimitTpm, h.cooldownMs, h.quarantineMs, h.maxConsecutiveFailures, h.maxBenchMs);
  }
  for (const op of ops) {
    const k = index.get(op.e) as number;
    switch (op.t) {
      case 'l':
        args.push(`l ${k} ${op.token} ${op.ttl}`);
        break;
      case 'r':
        args.push(`r ${k} ${op.token} ${op.kind} ${op.retryAfterMs} ${op.cooldownInMs} ${op.tokens}`);
        break;
      case 'x':
        args.push(`x ${k} ${op.token}`);
        break;
      case 'o':
        args.push(`o ${k} ${op.action}`);
        break;
    }
  }
  return { args, entries };
}

/**
 * Collects the operations of one tick and hands them to `send` together (on `process.nextTick`, so every call
 * that reaches the store in the same tick shares one round trip), in call order: ioredis writes commands on one
 * connection in the order they are sent, and Redis runs them in that order, so operations on a key stay ordered.
 * Tracks the calls in flight so `idle()` can wait for every reply (close()).
 */
export class BatchQueue {
  private queue: BatchOp[] = [];
  private scheduled = false;
  private inFlight = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly send: (ops: BatchOp[]) => Promise<void>) {}

  private readonly onTick = (): void => {
    this.scheduled = false;
    this.flush();
  };

  push(op: BatchOp): void {
    this.queue.push(op);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.onTick);
    }
  }

  /** Sends what is queued now (before a command that must come after it on the connection). */
  flush(): void {
    if (this.queue.length === 0) return;
    const ops = this.queue;
    this.queue = [];
    for (let i = 0; i < ops.length; i += MAX_BATCH_OPS) {
      this.track(this.send(ops.length <= MAX_BATCH_OPS ? ops : ops.slice(i, i + MAX_BATCH_OPS)));
    }
  }

  /** Resolves once everything queued so far has been sent and answered (or failed). */
  idle(): Promise<void> {
    this.flush();
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private track(p: Promise<void>): void {
    this.inFlight++;
    const done = (): void => {
      if (--this.inFlight === 0 && this.waiters.length > 0) {
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      }
    };
    p.then(done, done);
  }
}
