import { randomBytes } from 'node:crypto';
import type { Clock } from '../../clock';
import type { RedisStoreOptions } from '../../config/options.interfaces';
import type { Outcome } from '../../health/health.interfaces';
import { initialHealth } from '../../health/transitions';
import type { LlmRotateLogger } from '../../logger';
import { snapshotRow } from '../availability';
import type { KeyEntry, KeyOverride, KeyStateSnapshot, Lease, StateStore, StoreHealth, StoreKeySpec } from '../store.interfaces';
import {
  checkInjected,
  closeConnection,
  createConnection,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_NAMESPACE,
  scrubber,
  whenReady,
  type RedisConnection,
} from './redis.connection';
import { batchArgs, BatchQueue, type BatchOp } from './redis.batch';
import { addOrphan, applyReport, applyRow, localLease, localOverride, localRelease, localReport, newRedisEntry, parseRow, toLocalAccounting, type RedisEntry, type Row } from './redis.mirror';
import { defineScripts, DONE as DONE_CODE, KEY_ERROR, type ScriptCommands, type ScriptReply } from './redis.scripts';

/** While up: how often keys with something to tell Redis (or retired elsewhere) are refreshed. */
const REFRESH_MS = 5000;
/** While degraded: how often Redis is probed (a reconnect also triggers an immediate resync). */
const PROBE_MS = 500;
const UP: StoreHealth = Object.freeze({ backend: 'redis', status: 'up' }) as StoreHealth;
/** A whole-command reply error is logged at most this often (per-key faults: once per fault). */
const REPLY_ERROR_LOG_MS = 60_000;
/** Reply errors that say the server cannot serve us now (loading, a replica, a busy script, cluster down): an outage. */
const OUTAGE_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|MISCONF|NOREPLICAS)\b/;
const DONE: Promise<void> = Promise.resolve();
const NO_LEASE: Promise<Lease | null> = Promise.resolve(null);

/**
 * Key health, timers and advisory leases shared by every worker on one Redis and namespace (SPEC §5).
 *
 * The hot path is one Lua script (BATCH) working on Redis time; its reply refreshes the local mirror the
 * strategies read. A lease waits for its round trip; a report or a release does not: it is applied to the mirror at
 * once (a 429 benches the key for this worker before its next lease) and sent behind the caller's answer. All the
 * operations of one tick travel in one BATCH call, in call order (so per key in order), and `close()` flushes them.
 * A report that cannot be delivered is kept for the resync (its health as `dirty`, its lease as an orphan); a crash
 * loses at most the reports in flight, whose leases Redis frees by their TTL.
 *
 * One key's Redis data being unusable (a wrong type is repaired in the script; any other error is reported for that
 * key, which then serves on the mirror) never affects the other keys, and a reply error is not an outage. When Redis
 * is unreachable or slow (a command exceeds `commandTimeoutMs`) the store turns `degraded` and serves from the
 * mirror with the memory store's rules (leases then count per process), probes Redis in the background, and on its
 * return pushes what it learnt (benched keys, leases to free), re-registers its keys and resumes the shared state.
 * No method rejects because of Redis.
 *
 * Key set: each worker leases from its own configured keys. A reload that removes (or disables) a key retires it
 * in Redis, so every worker stops leasing it; a sync that adds a key (start-up or reload) registers it and
 * revives it fresh if it was retired. Keys kept across a sync keep their shared state.
 */
export class RedisStateStore implements StateStore {
  readonly backend = 'redis' as const;
  private entries = new Map<string, RedisEntry>();
  private current: RedisEntry[] = [];
  /** Keys this worker's reloads removed, not yet retired in Redis. */
  private readonly retiring = new Map<string, RedisEntry>();
  private readonly client: RedisConnection;
  private readonly cmd: ScriptCommands;
  private readonly owned: boolean;
  /** Our own deadline on each command (a user's client may queue); our own client has ioredis' commandTimeout. */
  private readonly raceMs: number;
  private readonly prefix: string;
  private readonly started: Promise<boolean>;
  private readonly scrub: (m: string) => string;
  private up = false;
  private announcedDown = false;
  private status: StoreHealth = { backend: 'redis', status: 'degraded', detail: 'not connected yet' };
  /** Redis time − local time, from the latest reply. */
  private offset = 0;
  private readonly wid = `${randomBytes(6).toString('hex')}:`;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private pushing: Promise<boolean> = Promise.resolve(false);
  private closed = false;
  private readonly batch = new BatchQueue((ops) => this.sendBatch(ops));
  /** Set by a sync when a key changed locally while it flew: push again at once. */
  private pushAgain = false;
  private replyErrorLoggedAt = -Infinity;

  private readonly onClose = (): void => this.degrade(new Error('connection closed'));
  private readonly onReady = (): void => {
    if (!this.up && !this.closed) void this.push(true);
  };
  /** The latest connection error of our own client (a better "why" than a refused command's message). */
  private lastConnError: string | undefined;
  private readonly onError = (err: unknown): void => {
    // Reported through degrade(); listening also keeps ioredis from printing "Unhandled error event".
    this.lastConnError = err instanceof Error ? err.message : String(err);
  };

  constructor(
    options: RedisStoreOptions,
    private readonly clock: Clock,
    private readonly logger: LlmRotateLogger,
  ) {
    const namespace = options.redisNamespace ?? DEFAULT_NAMESPACE;
    const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.prefix = `{${namespace}}:`;
    this.scrub = scrubber(options);
    this.owned = options.client === undefined;
    this.client = this.owned ? createConnection(options, namespace) : checkInjected(options.client);
    const isCluster = this.owned && options.clusterNodes !== undefined && options.clusterNodes.length > 0;
    this.raceMs = this.owned && !isCluster ? 0 : timeoutMs;
    this.cmd = defineScripts(this.client);
    if (this.owned) this.client.on('error', this.onError);
    this.client.on('close', this.onClose);
    this.client.on('ready', this.onReady);
    if (!this.owned && this.client.status === 'wait') this.client.connect?.().catch(() => undefined);
    this.started = whenReady(this.client, Math.max(1000, timeoutMs * 4));
  }

  async sync(keys: readonly StoreKeySpec[]): Promise<KeyEntry[]> {
    const prev = this.entries;
    const next = new Map<string, RedisEntry>();
    const out: RedisEntry[] = [];
    const incoming = new Map(keys.map((k) => [k.keyId, k]));
    for (const [id, e] of prev) {
      // Removed or disabled by this reload: retire it for every worker.
      if (e.spec.enabled && incoming.get(id)?.enabled !== true) this.retiring.set(id, e);
    }
    for (const spec of keys) {
      let e = prev.get(spec.keyId);
      if (e === undefined) {
        e = newRedisEntry(spec, `${this.prefix}s:${spec.keyId}`, `${this.prefix}l:${spec.keyId}`);
      } else if (!e.spec.enabled && spec.enabled) {
        // Re-enabled: like a key added (the memory store also starts it afresh).
        Object.assign(e, initialHealth(true));
        e.shownUntil = 0;
        e.fresh = true;
      }
      e.spec = spec;
      if (!spec.enabled) e.state = 'DISABLED';
      if (spec.enabled) this.retiring.delete(spec.keyId);
      next.set(spec.keyId, e);
      out.push(e);
    }
    this.entries = next;
    this.current = out;
    await this.started;
    await this.push(true);
    return out;
  }

  lease(entry: KeyEntry, ttlMs: number): Promise<Lease | null> {
    const e = entry as RedisEntry;
    if (this.entries.get(e.keyId) !== e || e.state === 'DISABLED') return NO_LEASE;
    if (!this.up) {
      // `L` marks a lease Redis never saw (nothing to free there).
      return Promise.resolve(this.leaseLocally(e, `${this.wid}L${(++this.seq).toString(36)}`, ttlMs));
    }
    const token = this.wid + (++this.seq).toString(36);
    return new Promise((done) => this.batch.push({ t: 'l', e, token, ttl: ttlMs, done }));
  }

  /** Applied to the mirror now, sent to Redis behind the caller (see the class comment): resolves at once. */
  report(lease: Lease, outcome: Outcome, tokens: number): Promise<void> {
    const e = this.entries.get(lease.keyId);
    if (e === undefined) return this.releaseRemoved(lease);
    e.held.delete(lease.token);
    const now = this.clock.now();
    if (this.up) {
      const changed = applyReport(e, outcome, tokens, now, this.offset);
      e.pendingHealth++;
      e.pendingFrees++;
      const cap = e.spec.health.maxBenchMs;
      this.batch.push({ t: 'r', e, token: lease.token, kind: outcome.kind, retryAfterMs: Math.min(retryAfterOf(outcome), cap), cooldownInMs: Math.min(cooldownInOf(outcome, now), cap), tokens, changed });
      return DONE;
    }
    localReport(e, outcome, tokens, now);
    this.releaseLocally(e, lease.token, now);
    return DONE;
  }

  /** Like {@link report}: the mirror counts the lease freed now, Redis frees it behind the caller. */
  release(lease: Lease): Promise<void> {
    const e = this.entries.get(lease.keyId);
    if (e === undefined) return this.releaseRemoved(lease);
    e.held.delete(lease.token);
    if (this.up) {
      if (e.inFlight > 0) e.inFlight--;
      e.pendingFrees++;
      this.batch.push({ t: 'x', e, token: lease.token });
      return DONE;
    }
    this.releaseLocally(e, lease.token, this.clock.now());
    return DONE;
  }

  /** Sends what is queued and resolves once every operation sent so far has its answer (or has failed). */
  flush(): Promise<void> {
    return this.batch.idle();
  }

  /** One round trip reading every key's shared state (or the local mirror while degraded). */
  async snapshot(): Promise<KeyStateSnapshot[]> {
    if (this.up) {
      const list = this.current.filter((e) => e.spec.enabled);
      if (list.length > 0) {
        const keys: string[] = [];
        const args: string[] = [];
        for (const e of list) {
          keys.push(e.sk, e.lk);
          args.push('p', '', '0', '0', '', String(e.spec.health.maxBenchMs));
        }
        // After what is queued, so the reply already holds it.
        this.batch.flush();
        const t0 = this.clock.now();
        try {
          const r = await this.exec(this.cmd.llmrotateSync(keys.length, ...keys, ...args));
          this.observe(r[0], t0);
          list.forEach((e, i) => {
            const row = parseRow(r[1 + i]);
            if (this.rowUsable(e, row) && !e.dirty) applyRow(e, row, this.offset);
          });
        } catch (err) {
          if (isOutage(err)) this.degrade(err);
          else this.replyError(err);
        }
      }
    }
    const now = this.clock.now();
    // The mirror shows the deadline Redis holds, on the local clock; its window is not minute-aligned.
    return this.current.map((e) => snapshotRow(e, now, e.shownUntil));
  }

  async override(keyId: string, action: KeyOverride): Promise<boolean> {
    const e = this.entries.get(keyId);
    if (e === undefined) return false;
    if (this.up) return this.sendOverride(e, action);
    // Redis unreachable: this worker applies it now, every worker once Redis is back (see pushNow).
    localOverride(e, action);
    return true;
  }

  health(): StoreHealth {
    return this.status;
  }

  /** Frees this worker's leases in Redis (best effort) and quits our connection; a user's client stays open. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Reports and releases still on their way first (each call is bounded by the command timeout).
    await this.batch.idle();
    if (this.up) {
      for (const e of this.current) for (const t of e.held.keys()) addOrphan(e, t);
      await this.push(false).catch(() => false);
    }
    this.closed = true;
    this.up = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.client.off('close', this.onClose);
    this.client.off('ready', this.onReady);
    if (this.owned) {
      await closeConnection(this.client, 1000);
      this.client.off('error', this.onError);
    }
    this.status = { backend: 'redis', status: 'degraded', detail: 'closed' };
  }

  // ───────────────────────────── internals ─────────────────────────────

  private exec(p: Promise<ScriptReply>): Promise<ScriptReply> {
    if (this.raceMs === 0) return p;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.raceMs} ms`)), this.raceMs);
    });
    p.catch(() => undefined);
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  }

  /** Updates the Redis−local clock offset from a reply (Redis' `now` is taken mid-flight); returns local now. */
  private observe(redisNow: string | number, sentAt: number): number {
    const now = this.clock.now();
    this.offset = (redisNow as number) - (sentAt + now) / 2;
    return now;
  }

  private leaseLocally(e: RedisEntry, token: string, ttlMs: number): Lease | null {
    const expiresAt = localLease(e, token, ttlMs, this.clock.now());
    return expiresAt === null ? null : { keyId: e.keyId, token, expiresAt };
  }

  private releaseLocally(e: RedisEntry, token: string, now: number): void {
    if (token.indexOf('L') === -1) localRelease(e, token, now);
    else {
      e.held.delete(token);
      toLocalAccounting(e, now);
    }
  }

  /** An override goes through the batch, so it stays in order with the reports of its key. */
  private sendOverride(e: RedisEntry, action: KeyOverride): Promise<boolean> {
    e.pendingHealth++;
    return new Promise((done) => this.batch.push({ t: 'o', e, action, done }));
  }

  // ─────────────────────────── the batch ───────────────────────────

  /** One BATCH call for the operations of a tick; never rejects (a failure falls back to local state per operation). */
  private async sendBatch(ops: BatchOp[]): Promise<void> {
    if (!this.up) {
      // Never sent (Redis went away since they were queued).
      this.settle(ops);
      this.fallBack(ops, false);
      return;
    }
    const { args, entries } = batchArgs(ops);
    const t0 = this.clock.now();
    let r: ScriptReply;
    try {
      r = await this.exec(this.cmd.llmrotateBatch(...args));
    } catch (err) {
      if (!isOutage(err) && entries.length > 1) {
        // Redis refused the whole command: once more key by key (in order), so one key cannot fail the others.
        const byKey = new Map<RedisEntry, BatchOp[]>();
        for (const op of ops) {
          const list = byKey.get(op.e);
          if (list === undefined) byKey.set(op.e, [op]);
          else list.push(op);
        }
        await Promise.all([...byKey.values()].map((group) => this.sendBatch(group)));
        return;
      }
      this.settle(ops);
      if (isOutage(err)) this.degrade(err);
      else this.keyRefused(entries[0], err);
      this.fallBack(ops, true);
      return;
    }
    const now = this.observe(r[0], t0);
    this.settle(ops);
    const codes = String(r[1]);
    let faulty: Set<RedisEntry> | undefined;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const row = parseRow(r[2 + i]);
      if (this.rowUsable(e, row)) {
        if (!e.dirty) applyRow(e, row, this.offset);
      } else (faulty ??= new Set()).add(e);
    }
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const code = codes.charCodeAt(i) - 48;
      if (code === KEY_ERROR || faulty?.has(op.e) || !(code >= 0 && code <= 3)) {
        // That key's data is unusable in Redis (its row says why): this operation is done locally.
        this.fallBack([op], code !== KEY_ERROR);
      } else if (op.t === 'l') {
        if (code === DONE_CODE) {
          const expiresAt = now + op.ttl;
          op.e.held.set(op.token, expiresAt);
          op.done({ keyId: op.e.keyId, token: op.token, expiresAt });
        } else op.done(null);
      } else if (op.t === 'o') op.done(true);
    }
  }

  /** The operations' replies are in (or they failed): they no longer count as pending in the mirror. */
  private settle(ops: readonly BatchOp[]): void {
    for (const op of ops) {
      if (op.t === 'r') {
        op.e.pendingHealth--;
        op.e.pendingFrees--;
      } else if (op.t === 'x') op.e.pendingFrees--;
      else if (op.t === 'o') op.e.pendingHealth--;
    }
  }

  /**
   * Operations Redis did not apply (unreachable, a reply error, or that key's data unusable) are done on the local
   * mirror, and what Redis must still learn is kept for the resync: the health a report changed (`dirty`), the
   * leases to free (orphans; `maybeRan`: the script may still have run, so a lease it took is freed too).
   */
  private fallBack(ops: readonly BatchOp[], maybeRan: boolean): void {
    // (Reports and releases free a lease Redis holds in any case: always an orphan.)
    for (const op of ops) {
      const e = op.e;
      switch (op.t) {
        case 'l':
          if (maybeRan) addOrphan(e, op.token);
          op.done(this.leaseLocally(e, maybeRan ? op.token : `${this.wid}L${(++this.seq).toString(36)}`, op.ttl));
          break;
        case 'r':
          if (op.changed) e.dirty = true;
          addOrphan(e, op.token);
          break;
        case 'x':
          addOrphan(e, op.token);
          break;
        case 'o':
          localOverride(e, op.action);
          op.done(true);
          break;
      }
      if (e.orphans.length > 0 || e.dirty) this.schedule(this.up ? REFRESH_MS : PROBE_MS);
    }
  }

  /**
   * Whether a key's row can refresh the mirror: flag 1 says its Redis data had the wrong type and was reset (logged,
   * then used), flag 2 that it cannot be read or written (logged once per fault; the key serves on local state).
   */
  private rowUsable(e: RedisEntry, row: Row): boolean {
    if (row.flag === 0) {
      e.faultLogged = false;
      return true;
    }
    if (row.flag === 1) {
      this.logger.warn(`Redis state store: the Redis data of key "${e.keyId}" had the wrong type and was reset (the key starts afresh)`);
      e.faultLogged = false;
      return true;
    }
    if (!e.faultLogged) {
      e.faultLogged = true;
      this.logger.warn(`Redis state store: the Redis data of key "${e.keyId}" cannot be used (${this.scrub(row.msg)}): this key is served on local state, the others stay shared`);
    }
    toLocalAccounting(e, this.clock.now());
    return false;
  }

  /** A reply error on a whole call: not an outage (the store stays up); logged at most once a minute. */
  private replyError(err: unknown): void {
    const now = Date.now();
    if (now - this.replyErrorLoggedAt < REPLY_ERROR_LOG_MS) return;
    this.replyErrorLoggedAt = now;
    this.logger.warn(`Redis state store: Redis refused a command (${this.scrub(this.reason(err))}); those calls were served on local state`);
  }

  /** A lease on a key a reload removed: free its slot in Redis behind the caller (while degraded it simply expires). */
  private releaseRemoved(lease: Lease): Promise<void> {
    if (!this.up || lease.token.indexOf('L') !== -1) return DONE;
    const e = newRedisEntry({ ...REMOVED_SPEC, keyId: lease.keyId }, `${this.prefix}s:${lease.keyId}`, `${this.prefix}l:${lease.keyId}`);
    e.pendingFrees++;
    this.batch.push({ t: 'x', e, token: lease.token });
    return DONE;
  }

  /**
   * One sync round trip: registers/revives/retires keys, pushes local knowledge (benched keys, leases to free)
   * and refreshes the mirror. `full` covers every key (start-up, reload, recovery); otherwise only keys with
   * something to push or retired elsewhere (nothing to do: no round trip). Runs one at a time.
   */
  private push(full: boolean): Promise<boolean> {
    const run = (): Promise<boolean> => this.pushNow(full);
    const p = this.pushing.then(run, run);
    this.pushing = p;
    return p;
  }

  private async pushNow(full: boolean): Promise<boolean> {
    if (this.closed) return false;
    const now = this.clock.now();
    const items: SyncItem[] = [];
    // Coming back from an outage, push every bench this worker knows: a restarted Redis may have lost them all.
    const mergeAll = !this.up;
    for (const e of this.current) {
      if (!e.spec.enabled) continue;
      if (!full && !e.fresh && !e.dirty && !e.retired && e.orphans.length === 0) continue;
      const merge = (e.dirty || mergeAll) && (e.state === 'COOLDOWN' || e.state === 'QUARANTINE') && e.until > now ? e.state : '';
      const args = [
        e.fresh ? 'n' : 'k',
        merge,
        String(merge ? Math.ceil(e.until - now) : 0),
        String(e.dirty ? e.consecutiveFailures : 0),
        e.orphans.join(' '),
        String(e.spec.health.maxBenchMs),
      ];
      items.push({ e, args, orphans: e.orphans, dirty: e.dirty, retire: false });
      e.orphans = [];
      e.dirty = false;
    }
    for (const e of this.retiring.values()) {
      items.push({ e, args: ['r', '', '0', '0', e.orphans.join(' '), String(e.spec.health.maxBenchMs)], orphans: e.orphans, dirty: false, retire: true });
      e.orphans = [];
    }
    if (items.length === 0) return this.up;
    // After what is queued, so the reply already holds it.
    this.batch.flush();
    this.pushAgain = false;
    if (!(await this.syncItems(items))) return false;
    if (!this.up) this.recover();
    if (this.pushAgain) this.schedule(0);
    for (const it of items) {
      const action = it.e.pendingOverride;
      it.e.pendingOverride = undefined;
      if (action !== undefined && !it.retire) void this.sendOverride(it.e, action);
    }
    return true;
  }

  /**
   * One SYNC for `items`; when Redis refuses the whole command (a reply error), one SYNC per key, so a key Redis
   * refuses is reported and kept for later while the others go on. False on an outage (the store is degraded).
   */
  private async syncItems(items: SyncItem[]): Promise<boolean> {
    const keys: string[] = [];
    const args: string[] = [];
    for (const it of items) {
      keys.push(it.e.sk, it.e.lk);
      args.push(...it.args);
    }
    const t0 = this.clock.now();
    let r: ScriptReply;
    try {
      r = await this.exec(this.cmd.llmrotateSync(keys.length, ...keys, ...args));
    } catch (err) {
      if (isOutage(err)) {
        for (const it of items) restore(it);
        this.degrade(err);
        return false;
      }
      if (items.length === 1) {
        restore(items[0]);
        this.keyRefused(items[0].e, err);
        return true;
      }
      for (const it of items) if (!(await this.syncItems([it]))) return false;
      return true;
    }
    this.observe(r[0], t0);
    items.forEach((it, i) => {
      const e = it.e;
      const row = parseRow(r[1 + i]);
      if (!this.rowUsable(e, row)) {
        // This key's data is unusable in Redis: keep what it has to push for a later resync.
        restore(it);
        return;
      }
      if (it.retire) {
        if (this.retiring.get(e.keyId) === e) this.retiring.delete(e.keyId);
        return;
      }
      e.fresh = false;
      // Changed locally while this round trip flew: keep the local knowledge, push it next time.
      if (e.dirty) this.pushAgain = true;
      else applyRow(e, row, this.offset);
    });
    return true;
  }

  /** Redis refused a command on one key (a reply error): that key serves on local state; logged once per fault. */
  private keyRefused(e: RedisEntry, err: unknown): void {
    toLocalAccounting(e, this.clock.now());
    if (e.faultLogged) return;
    e.faultLogged = true;
    this.logger.warn(`Redis state store: Redis refused the operations on key "${e.keyId}" (${this.scrub(this.reason(err))}): this key is served on local state, the others stay shared`);
  }

  private degrade(err: unknown): void {
    if (this.closed) return;
    const wasUp = this.up;
    this.up = false;
    if (wasUp || !this.announcedDown) {
      this.announcedDown = true;
      const msg = this.scrub(this.reason(err));
      this.status = {
        backend: 'redis',
        status: 'degraded',
        detail: `Redis unreachable (${msg}) since ${new Date().toISOString()}: serving on this process's local state`,
      };
      this.logger.warn(`Redis state store unreachable (${msg}): serving on local state until it is back`);
      const now = this.clock.now();
      for (const e of this.current) toLocalAccounting(e, now);
    }
    this.schedule(PROBE_MS);
  }

  private reason(err: unknown): string {
    const m = err instanceof Error ? err.message : String(err);
    if (/Stream isn't writeable|Connection is closed|connection closed/i.test(m)) {
      return this.lastConnError !== undefined ? `not connected: ${this.lastConnError}` : 'not connected';
    }
    return m;
  }

  private recover(): void {
    this.lastConnError = undefined;
    this.up = true;
    this.status = UP;
    if (this.announcedDown) this.logger.warn('Redis state store is reachable: shared key state resynchronised');
    this.announcedDown = false;
    this.schedule(REFRESH_MS);
  }

  /** One timer: the refresh while up, the probe while degraded. Never keeps the process alive. */
  private schedule(ms: number): void {
    if (this.closed) return;
    const at = Date.now() + ms;
    if (this.timer !== undefined) {
      if (this.timerAt <= at) return;
      clearTimeout(this.timer);
    }
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.push(!this.up).then(() => this.schedule(this.up ? REFRESH_MS : PROBE_MS));
    }, ms);
    this.timer.unref();
  }
}

/** What one key sends in a SYNC, and what to give back to it if the SYNC fails. */
interface SyncItem {
  readonly e: RedisEntry;
  readonly args: string[];
  readonly orphans: string[];
  readonly dirty: boolean;
  readonly retire: boolean;
}

/** A SYNC that did not happen: the key keeps what it had to push. */
function restore(it: SyncItem): void {
  it.e.orphans = it.orphans.concat(it.e.orphans);
  if (it.dirty) it.e.dirty = true;
}

/** A reply error (Redis answered, refusing the command) that is not an outage-like one; anything else is an outage. */
function isOutage(err: unknown): boolean {
  return !(err instanceof Error && err.name === 'ReplyError' && !OUTAGE_REPLY.test(err.message));
}

/** Spec of a key a reload removed (only its leases are freed; its settings are not used). */
const REMOVED_SPEC: StoreKeySpec = Object.freeze({
  keyId: '',
  enabled: true,
  maxConcurrent: 0,
  rateLimitRpm: 0,
  rateLimitTpm: 0,
  health: Object.freeze({ cooldownMs: 0, quarantineMs: 0, maxConsecutiveFailures: 1, maxBenchMs: 1 }),
});

function retryAfterOf(o: Outcome): number {
  return o.kind === 'rate_limit' && o.retryAfterMs !== undefined && o.retryAfterMs > 0 ? Math.ceil(o.retryAfterMs) : 0;
}

/** A success's "window spent" deadline as ms from now (the script adds it to Redis time). */
function cooldownInOf(o: Outcome, now: number): number {
  return o.kind === 'success' && o.cooldownUntil !== undefined && o.cooldownUntil > now ? Math.ceil(o.cooldownUntil - now) : 0;
}
