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
import { addOrphan, applyRow, localLease, localOverride, localRelease, localReport, newRedisEntry, toLocalAccounting, type RedisEntry } from './redis.mirror';
import { defineScripts, ROW_FIELDS, type ScriptCommands, type ScriptReply } from './redis.scripts';

/** While up: how often keys with something to tell Redis (or retired elsewhere) are refreshed. */
const REFRESH_MS = 5000;
/** While degraded: how often Redis is probed (a reconnect also triggers an immediate resync). */
const PROBE_MS = 500;
const UP: StoreHealth = Object.freeze({ backend: 'redis', status: 'up' }) as StoreHealth;

/**
 * Key health, timers and advisory leases shared by every worker on one Redis and namespace (SPEC §5).
 *
 * Each step is one Lua script (one round trip) that works on Redis time; its reply refreshes the local mirror
 * the strategies read. When Redis is unreachable or slow (a command exceeds `commandTimeoutMs`) the store turns
 * `degraded` and serves from the mirror with the memory store's rules (leases then count per process), probes
 * Redis in the background, and on its return pushes what it learnt (benched keys, leases to free), re-registers
 * its keys and resumes the shared state. No method rejects because of Redis.
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

  async lease(entry: KeyEntry, ttlMs: number): Promise<Lease | null> {
    const e = entry as RedisEntry;
    if (this.entries.get(e.keyId) !== e || e.state === 'DISABLED') return null;
    if (this.up) {
      const token = this.wid + (++this.seq).toString(36);
      const spec = e.spec;
      const t0 = this.clock.now();
      try {
        const r = await this.exec(this.cmd.llmrotateLease(e.sk, e.lk, token, ttlMs, spec.maxConcurrent, spec.rateLimitRpm, spec.rateLimitTpm));
        const now = this.observe(r[1], t0);
        applyRow(e, r, 2, this.offset);
        if (r[0] !== 1) return null;
        const expiresAt = now + ttlMs;
        e.held.set(token, expiresAt);
        return { keyId: e.keyId, token, expiresAt };
      } catch (err) {
        // The script may still run later (a paused or slow Redis): free the token at the next resync.
        addOrphan(e, token);
        this.degrade(err);
        return this.leaseLocally(e, token, ttlMs);
      }
    }
    // `L` marks a lease Redis never saw (nothing to free there).
    return this.leaseLocally(e, `${this.wid}L${(++this.seq).toString(36)}`, ttlMs);
  }

  async report(lease: Lease, outcome: Outcome, tokens: number): Promise<void> {
    const e = this.entries.get(lease.keyId);
    if (e === undefined) return this.releaseRemoved(lease);
    e.held.delete(lease.token);
    if (this.up) {
      const h = e.spec.health;
      const t0 = this.clock.now();
      try {
        const r = await this.exec(
          this.cmd.llmrotateReport(
            e.sk,
            e.lk,
            lease.token,
            outcome.kind,
            retryAfterOf(outcome),
            cooldownInOf(outcome, t0),
            tokens,
            h.cooldownMs,
            h.quarantineMs,
            h.maxConsecutiveFailures,
            e.spec.rateLimitTpm,
            e.spec.maxConcurrent,
          ),
        );
        this.observe(r[0], t0);
        applyRow(e, r, 1, this.offset);
        return;
      } catch (err) {
        this.degrade(err);
      }
    }
    const now = this.clock.now();
    localReport(e, outcome, tokens, now, e.spec.health);
    this.releaseLocally(e, lease.token, now);
  }

  async release(lease: Lease): Promise<void> {
    const e = this.entries.get(lease.keyId);
    if (e === undefined) return this.releaseRemoved(lease);
    e.held.delete(lease.token);
    if (this.up) {
      const t0 = this.clock.now();
      try {
        const r = await this.exec(this.cmd.llmrotateRelease(e.sk, e.lk, lease.token, e.spec.maxConcurrent));
        this.observe(r[0], t0);
        applyRow(e, r, 1, this.offset);
        return;
      } catch (err) {
        this.degrade(err);
      }
    }
    this.releaseLocally(e, lease.token, this.clock.now());
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
          args.push('p', '', '0', '0', '');
        }
        const t0 = this.clock.now();
        try {
          const r = await this.exec(this.cmd.llmrotateSync(keys.length, ...keys, ...args));
          this.observe(r[0], t0);
          list.forEach((e, i) => {
            if (!e.dirty) applyRow(e, r, 1 + i * ROW_FIELDS, this.offset);
          });
        } catch (err) {
          this.degrade(err);
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
    if (this.up && (await this.sendOverride(e, action))) return true;
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

  private async sendOverride(e: RedisEntry, action: KeyOverride): Promise<boolean> {
    const t0 = this.clock.now();
    try {
      const r = await this.exec(this.cmd.llmrotateOverride(e.sk, e.lk, action));
      this.observe(r[0], t0);
      applyRow(e, r, 1, this.offset);
      return true;
    } catch (err) {
      this.degrade(err);
      return false;
    }
  }

  /** A lease on a key a reload removed: free its slot in Redis (while degraded it simply expires). */
  private async releaseRemoved(lease: Lease): Promise<void> {
    if (!this.up || lease.token.indexOf('L') !== -1) return;
    try {
      await this.exec(this.cmd.llmrotateRelease(`${this.prefix}s:${lease.keyId}`, `${this.prefix}l:${lease.keyId}`, lease.token, 0));
    } catch (err) {
      this.degrade(err);
    }
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
    const keys: string[] = [];
    const args: string[] = [];
    const rows: RedisEntry[] = [];
    const sentOrphans: string[][] = [];
    const sentDirty: boolean[] = [];
    // Coming back from an outage, push every bench this worker knows: a restarted Redis may have lost them all.
    const mergeAll = !this.up;
    for (const e of this.current) {
      if (!e.spec.enabled) continue;
      if (!full && !e.fresh && !e.dirty && !e.retired && e.orphans.length === 0) continue;
      const merge = (e.dirty || mergeAll) && (e.state === 'COOLDOWN' || e.state === 'QUARANTINE') && e.until > now ? e.state : '';
      keys.push(e.sk, e.lk);
      args.push(e.fresh ? 'n' : 'k', merge, String(merge ? Math.ceil(e.until - now) : 0), String(e.dirty ? e.consecutiveFailures : 0), e.orphans.join(' '));
      rows.push(e);
      sentOrphans.push(e.orphans);
      sentDirty.push(e.dirty);
      e.orphans = [];
      e.dirty = false;
    }
    const retired = [...this.retiring.values()];
    for (const e of retired) {
      keys.push(e.sk, e.lk);
      args.push('r', '', '0', '0', e.orphans.join(' '));
    }
    if (keys.length === 0) return this.up;
    const t0 = this.clock.now();
    try {
      const r = await this.exec(this.cmd.llmrotateSync(keys.length, ...keys, ...args));
      this.observe(r[0], t0);
      let again = false;
      rows.forEach((e, i) => {
        e.fresh = false;
        // Changed locally while this round trip flew: keep the local knowledge, push it next time.
        if (e.dirty) again = true;
        else applyRow(e, r, 1 + i * ROW_FIELDS, this.offset);
      });
      for (const e of retired) {
        if (this.retiring.get(e.keyId) === e) this.retiring.delete(e.keyId);
        e.orphans = [];
      }
      if (!this.up) this.recover();
      if (again) this.schedule(0);
      for (const e of rows) {
        const action = e.pendingOverride;
        e.pendingOverride = undefined;
        if (action !== undefined && !(await this.sendOverride(e, action))) e.pendingOverride = action;
      }
      return true;
    } catch (err) {
      rows.forEach((e, i) => {
        e.orphans = sentOrphans[i].concat(e.orphans);
        if (sentDirty[i]) e.dirty = true;
      });
      this.degrade(err);
      return false;
    }
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

function retryAfterOf(o: Outcome): number {
  return o.kind === 'rate_limit' && o.retryAfterMs !== undefined && o.retryAfterMs > 0 ? Math.ceil(o.retryAfterMs) : 0;
}

/** A success's "window spent" deadline as ms from now (the script adds it to Redis time). */
function cooldownInOf(o: Outcome, now: number): number {
  return o.kind === 'success' && o.cooldownUntil !== undefined && o.cooldownUntil > now ? Math.ceil(o.cooldownUntil - now) : 0;
}
