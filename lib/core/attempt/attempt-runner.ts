import { performance } from 'node:perf_hooks';
import { classifyThrown } from '../classify';
import type { Clock } from '../clock';
import type { KeyRuntime } from '../config/resolved-config';
import {
  CallCancelledError,
  ConfigurationError,
  LlmRotateError,
  ProviderBadRequestError,
  ProviderHttpError,
  RequestBuildError,
  SecretResolutionError,
  UnknownModelError,
} from '../errors';
import type { UsageEmitter } from '../events';
import type { Outcome } from '../health/health.interfaces';
import type { LlmRotateLogger } from '../logger';
import type { PlanStep } from '../planning/planner';
import { boundMessage } from '../providers/http-errors';
import type { CallTarget, ClassifiedError, ProviderAdapter, UnifiedRequest } from '../providers/provider.interfaces';
import { asLibraryError } from '../providers/wire-checks';
import type { HttpRequest } from '../transport/http';
import type { SecretResolver } from '../secrets';
import type { CandidateList } from '../selection/strategy.interfaces';
import { availableAt, BUSY_RETRY_MS } from '../store/availability';
import type { Lease, StateStore } from '../store/store.interfaces';
import type { Attempt, ProviderName, Usage, UsageEvent } from '../types';
import type { AttemptEnd, LeasedAttempt, LocalFailure, Runtime } from './attempt.interfaces';
import type { Call } from './call';
import type { PriceBook } from '../observability/pricing/price-book';
import type { UsageRecorder } from '../observability/usage-summary';

/** How long a key whose secret this process cannot resolve or parse is held back locally (then it is tried again). */
export const LOCAL_BLOCK_MS = 30_000;
/** Lost lease races retried at once before the walk gives up, when the call does not wait. */
const MAX_IMMEDIATE_RACES = 3;
/** Backoff after a lost lease race while a call waits: base doubles per race up to the cap, with full jitter. */
const RACE_BACKOFF_MS = 5;
const RACE_BACKOFF_CAP_MS = 100;

const ZERO_USAGE: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0 });
const LOCAL: LocalFailure = Object.freeze({ kind: 'local_error' });

export interface AttemptRunnerDeps {
  readonly store: StateStore;
  readonly secrets: SecretResolver;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: LlmRotateLogger;
  readonly adapters: Partial<Record<ProviderName, ProviderAdapter>>;
  readonly usage: UsageEmitter;
  readonly summary: UsageRecorder;
  /** The price table in force (it changes with a reload). */
  prices(): PriceBook;
  /** Where usage events are logged (the `logUsage` option); undefined: not logged. */
  usageLog(): ((message: string) => void) | undefined;
}

/**
 * How one attempt is made and settled, for every kind of call (chat, stream, acquire, fetch):
 *
 * 1. {@link leases} walks the call's plan: the strategy picks a key from the local entries, the store leases it
 *    atomically (a lost race re-picks), the key's secret is resolved into a call target. When nothing can be leased
 *    it waits for the soonest key within the call's `maxWaitMs` (lost races back off with jitter), else it ends.
 * 2. The call's own middle (an HTTP exchange, a stream, a lent key, an SDK's request) runs the attempt.
 * 3. {@link settle} reports the outcome to the store (health transition + release, one step; waits taken from
 *    headers are capped first), records the attempt on the call and emits its usage event; {@link fail} does the
 *    same from a thrown error, and holds a key back locally when the problem is this process's, not the key's.
 */
export class AttemptRunner {
  /** Why a key is held back locally (its secret cannot be resolved, …), by keyId. Never a secret value. */
  readonly localProblems = new Map<string, string>();

  constructor(private readonly d: AttemptRunnerDeps) {}

  // ─────────────────────────── 1. walk and lease ───────────────────────────

  /**
   * Leased attempts in plan order until the caller stops: each step's keys as the strategy ranks them, skipping
   * keys the call already failed with. When nothing is left it waits for the soonest benched key if that is within
   * `maxWaitMs` (then every key may be tried again), else records `call.wait` and ends.
   */
  async *leases(rt: Runtime, call: Call, steps: readonly PlanStep[]): AsyncGenerator<LeasedAttempt, void, undefined> {
    const { clock } = this.d;
    const deadline = clock.now() + (call.limits.maxWaitMs ?? 0);
    let races = 0;
    for (;;) {
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i];
        for (;;) {
          const at = await this.next(rt, call, step, i);
          if (at === undefined) break;
          if (at === null) continue; // held back locally (recorded on the call); pick another
          races = 0;
          yield at;
        }
      }
      const now = clock.now();
      const wait = soonest(steps, call.tried, now);
      if (wait === 0) {
        // The mirror shows a key free that another caller (or worker) leased first: a lost race, not an outage.
        if (now < deadline) {
          await this.sleep(Math.min(backoff(races++, this.d.random), deadline - now), call);
          continue;
        }
        if (races++ < MAX_IMMEDIATE_RACES) continue;
        call.wait = BUSY_RETRY_MS;
        return;
      }
      if (wait !== undefined && now + wait <= deadline) {
        // Callers that wake for the same key and lose its lease back off with jitter (above).
        await this.sleep(wait, call);
        call.tried = undefined;
        races = 0;
        continue;
      }
      call.wait = wait;
      return;
    }
  }

  /** The next leased attempt of one step; undefined when none is left, null when a picked key was held back. */
  private async next(rt: Runtime, call: Call, step: PlanStep, stepIndex: number): Promise<LeasedAttempt | undefined | null> {
    const picked = await this.select(rt, step.list, call.tried, call.limits.signal);
    if (picked === undefined) return undefined;
    const { c, lease } = picked;
    const key = c.key;
    const adapter = this.d.adapters[key.provider] as ProviderAdapter;
    const number = call.attempts.length + 1;
    let secret: string;
    try {
      const s = this.d.secrets.resolve(key.keyId, key.secretRef);
      secret = typeof s === 'string' ? s : await s;
    } catch (e) {
      const end = await this.fail(call, this.leased(call, step, stepIndex, key, c.entry, lease, adapter, '', number), e);
      call.failedWith(key.keyId, end.error);
      return null;
    }
    if (this.localProblems.size > 0) this.localProblems.delete(key.keyId);
    return this.leased(call, step, stepIndex, key, c.entry, lease, adapter, secret, number);
  }

  private leased(
    call: Call,
    step: PlanStep,
    stepIndex: number,
    key: KeyRuntime,
    entry: LeasedAttempt['entry'],
    lease: Lease,
    adapter: ProviderAdapter,
    secret: string,
    number: number,
  ): LeasedAttempt {
    const fallback = stepIndex > 0;
    return {
      step,
      stepIndex,
      key,
      entry,
      lease,
      adapter,
      number,
      target: {
        provider: key.provider,
        keyId: key.keyId,
        model: step.model,
        secret,
        baseUrl: key.baseUrl ?? adapter.defaultBaseUrl,
        settings: key.settings,
        metadata: key.metadata,
      },
      t0: performance.now(),
      obs: call.obs?.attemptStarted({ provider: key.provider, model: step.model, keyId: key.keyId, attempt: number, fallback }),
      ended: false,
    };
  }

  /** Strategy pick on the entries, then an atomic lease in the store; a lost race re-picks. */
  private async select(rt: Runtime, list: CandidateList, tried: ReadonlySet<string> | undefined, signal: AbortSignal | undefined): Promise<{ c: CandidateList['items'][number]; lease: Lease } | undefined> {
    if (signal?.aborted) throw new CallCancelledError();
    let skip = tried;
    for (;;) {
      const c = rt.strategy.pick(list, this.d.clock.now(), skip, this.d.random);
      if (c === undefined) return undefined;
      const lease = await this.d.store.lease(c.entry, rt.config.leaseTtlMs);
      if (lease !== null) return { c, lease };
      // Somebody else took it first (another worker, or its state changed): never pick it again this round.
      const s = new Set(skip);
      s.add(c.entry.keyId);
      skip = s;
    }
  }

  private async sleep(ms: number, call: Call): Promise<void> {
    try {
      await this.d.clock.sleep(Math.max(1, ms), call.limits.signal);
    } catch {
      throw new CallCancelledError();
    }
  }

  // ─────────────────────────── 3. settle ───────────────────────────

  /** Reports the outcome (releasing the lease), records the attempt and emits its usage event. Exactly once per attempt. */
  async settle(call: Call, at: LeasedAttempt, outcome: Outcome, error?: Error, usage: Usage = ZERO_USAGE): Promise<AttemptEnd> {
    at.ended = true;
    const capped = capWaits(outcome, at.key.settings.health.maxBenchMs, this.d.clock.now());
    await this.d.store.report(at.lease, capped, usage.inputTokens + usage.outputTokens);
    return this.record(call, at, capped, error, usage);
  }

  /**
   * Ends an attempt from a thrown error. A problem of this process rather than of the key (its secret cannot be
   * resolved or parsed, the request cannot be built) releases the lease without touching the key's health and
   * holds the key back locally for {@link LOCAL_BLOCK_MS}; anything else is classified like a vendor SDK error.
   */
  async fail(call: Call, at: LeasedAttempt, thrown: unknown): Promise<AttemptEnd> {
    const error = this.scrubbed(asLibraryError(at.key.provider, thrown));
    if (!isLocalProblem(error)) return this.settle(call, at, classifyThrown(error, this.d.clock.now()), error);
    at.ended = true;
    await this.d.store.release(at.lease);
    this.holdBack(at.key.keyId, at.entry, error);
    return this.record(call, at, LOCAL, error, ZERO_USAGE);
  }

  /** Releases an attempt's lease without an outcome (a lent key given back unused). */
  async release(at: LeasedAttempt): Promise<void> {
    at.ended = true;
    await this.d.store.release(at.lease);
  }

  /**
   * Keeps a key out of this process's selection for a while and says why: the log names the key and its ref (never a
   * value), the snapshot and health output a reason without the ref. Warns once per reason.
   */
  holdBack(keyId: string, entry: LeasedAttempt['entry'], error: Error): void {
    entry.blockedUntil = this.d.clock.now() + LOCAL_BLOCK_MS;
    const reason = shownReason(error);
    if (this.localProblems.get(keyId) !== reason) {
      this.localProblems.set(keyId, reason);
      this.d.logger.warn(`Key "${keyId}" is held back in this process for ${LOCAL_BLOCK_MS / 1000} s: ${this.d.secrets.scrub(error.message)}`);
    }
  }

  private record(call: Call, at: LeasedAttempt, outcome: Outcome | LocalFailure, error: Error | undefined, usage: Usage): AttemptEnd {
    const key = at.key;
    const model = at.step.model;
    const latencyMs = Math.round(performance.now() - at.t0);
    const status = statusOfError(error);
    const success = outcome.kind === 'success';
    const cost = success ? this.d.prices().cost(key.provider, model, usage) : undefined;
    const attempt: Attempt = { provider: key.provider, model, keyId: key.keyId, outcome: outcome.kind, latencyMs };
    if (error !== undefined) {
      attempt.errorClass = error.name;
      attempt.message = boundMessage(this.d.secrets.scrub(error.message));
    }
    if (status !== undefined) attempt.status = status;
    call.attempts.push(attempt);
    this.d.summary.record(key.keyId, key.provider, model, outcome.kind, success ? usage : undefined, cost);
    const log = this.d.usageLog();
    if (this.d.usage.active || log !== undefined || at.obs !== undefined) {
      const event: UsageEvent = {
        timestamp: this.d.clock.now(),
        requestId: call.requestId,
        source: call.source,
        provider: key.provider,
        model,
        keyId: key.keyId,
        outcome: outcome.kind,
        errorClass: attempt.errorClass,
        status,
        latencyMs,
        inputTokens: success ? usage.inputTokens : undefined,
        outputTokens: success ? usage.outputTokens : undefined,
        cachedInputTokens: success ? usage.cachedInputTokens : undefined,
        costUsd: cost,
        attempt: at.number,
        fallback: at.stepIndex > 0,
      };
      if (log !== undefined) log(`usage ${JSON.stringify(event)}`);
      this.d.usage.emit(event);
      at.obs?.attemptEnded(event);
    }
    return success ? { outcome, attempt, error, usage, costUsd: cost } : { outcome, attempt, error };
  }

  // ─────────────────────────── helpers the middles share ───────────────────────────

  /** A vendor's error answer as the library's error (message scrubbed and bounded, wait capped). */
  httpError(at: LeasedAttempt, c: ClassifiedError): ProviderHttpError {
    const provider = at.key.provider;
    const msg = `${provider} answered ${c.status}: ${boundMessage(this.d.secrets.scrub(c.message))}`;
    const retry = c.retryAfterMs === undefined ? undefined : Math.min(c.retryAfterMs, at.key.settings.health.maxBenchMs);
    return c.kind === 'bad_request' ? new ProviderBadRequestError(provider, c.status, c.kind, msg, retry) : new ProviderHttpError(provider, c.status, c.kind, msg, retry);
  }

  /** Anything an adapter or the transport threw, as a library error (a raw TypeError/SyntaxError is a malformed answer). */
  asLibraryError(at: LeasedAttempt, e: unknown): Error {
    return this.scrubbed(asLibraryError(at.key.provider, e));
  }

  /** Errors leaving the library carry no secret, and a bounded message. */
  scrubbed<E extends Error>(e: E): E {
    const clean = boundMessage(this.d.secrets.scrub(e.message), 2000);
    if (clean !== e.message) e.message = clean;
    return e;
  }
}

/** Ms until the soonest candidate can be leased: 0 if one not yet tried is free now; undefined when none will be. */
function soonest(steps: readonly PlanStep[], tried: ReadonlySet<string> | undefined, now: number): number | undefined {
  let min = Infinity;
  for (const s of steps) {
    for (const c of s.list.items) {
      const at = availableAt(c.entry, now);
      if (at === 0) {
        if (tried === undefined || !tried.has(c.entry.keyId)) return 0;
      } else if (at < min) min = at;
    }
  }
  return min === Infinity ? undefined : Math.max(1, min - now);
}

/** Full-jitter exponential backoff after `races` lost lease races. */
function backoff(races: number, random: () => number): number {
  const cap = Math.min(RACE_BACKOFF_CAP_MS, RACE_BACKOFF_MS * 2 ** Math.min(races, 5));
  return 1 + Math.floor(random() * cap);
}

/** Every wait taken from a header is capped at the provider's `maxCooldownSeconds`; a nonsensical one is dropped. */
function capWaits(o: Outcome, maxBenchMs: number, now: number): Outcome {
  if (o.kind === 'rate_limit' && o.retryAfterMs !== undefined) {
    const r = o.retryAfterMs;
    if (Number.isNaN(r) || r < 0) return { kind: 'rate_limit' };
    if (r > maxBenchMs) return { kind: 'rate_limit', retryAfterMs: maxBenchMs };
  } else if (o.kind === 'success' && o.cooldownUntil !== undefined) {
    const u = o.cooldownUntil;
    if (Number.isNaN(u)) return { kind: 'success' };
    if (u > now + maxBenchMs) return { kind: 'success', cooldownUntil: now + maxBenchMs };
  }
  return o;
}

/** A hold-back's reason as the snapshot shows it: what went wrong, without the ref (`env://…`, `file://…`). */
function shownReason(e: Error): string {
  const text = e instanceof SecretResolutionError ? `its secret cannot be resolved: ${e.reason}` : e.message;
  return boundMessage(text.replace(/\s*\((?:secretRef )?[a-z][a-z0-9+.-]*:\/\/[^)]*\)/g, '').replace(/\b[a-z][a-z0-9+.-]*:\/\/\S*/g, '(its ref)').replace(/secretRef/g, 'secret'));
}

/**
 * A key this process cannot use: its secret cannot be resolved or parsed (a RequestBuildError is the request's own
 * problem instead: the caller's fault, see classifyThrown).
 */
function isLocalProblem(e: Error): boolean {
  return e instanceof SecretResolutionError || (e instanceof ConfigurationError && !(e instanceof UnknownModelError));
}

/** A request an adapter cannot build (a bug, or an odd input a vendor library refuses) is not the key's failure. */
export async function buildRequest(adapter: ProviderAdapter, target: CallTarget, req: UnifiedRequest, stream: boolean): Promise<HttpRequest> {
  try {
    return await adapter.buildRequest(target, req, stream);
  } catch (e) {
    if (e instanceof LlmRotateError) throw e;
    throw new RequestBuildError(adapter.provider, `${adapter.provider}: the request could not be built (${e instanceof Error ? e.name : typeof e})`);
  }
}

export function statusOfError(e: unknown): number | undefined {
  if (e instanceof ProviderHttpError) return e.status;
  const s = (e as { status?: unknown } | undefined)?.status;
  return typeof s === 'number' ? s : undefined;
}

/** A classified vendor error as a health outcome. */
export function outcomeOf(c: ClassifiedError): Outcome {
  return c.kind === 'rate_limit' ? { kind: 'rate_limit', retryAfterMs: c.retryAfterMs } : { kind: c.kind };
}
