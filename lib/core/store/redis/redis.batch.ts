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
 * The arguments of one BATCH call: the distinct keys in order of first use (their state/leases Redis keys), their
 * settings in one string, the operations in order in another (see BATCH_LUA). `entries[i]` is the key of the
 * reply's i-th row. Few, long arguments: each argument costs ioredis and Redis more than its bytes.
 */
export function batchArgs(ops: readonly BatchOp[]): { args: Array<string | number>; entries: RedisEntry[] } {
  const index = new Map<RedisEntry, number>();
  const entries: RedisEntry[] = [];
  const args: Array<string | number> = [0];
  let settings = '';
  let lines = '';
  for (const op of ops) {
    const e = op.e;
    let k = index.get(e);
    if (k === undefined) {
      k = entries.length + 1;
      index.set(e, k);
      entries.push(e);
      args.push(e.sk, e.lk);
      const s = e.spec;
      const h = s.health;
      settings += `${s.maxConcurrent} ${s.rateLimitRpm} ${s.rateLimitTpm} ${h.cooldownMs} ${h.quarantineMs} ${h.maxConsecutiveFailures} ${h.maxBenchMs} `;
    }
    switch (op.t) {
      case 'l':
        lines += `l ${k} ${op.token} ${op.ttl} - - -\n`;
        break;
      case 'r':
        lines += `r ${k} ${op.token} ${op.kind} ${op.retryAfterMs} ${op.cooldownInMs} ${op.tokens}\n`;
        break;
      case 'x':
        lines += `x ${k} ${op.token} - - - -\n`;
        break;
      case 'o':
        lines += `o ${k} ${op.action} - - - -\n`;
        break;
    }
  }
  args[0] = entries.length * 2;
  args.push(settings, lines);
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
