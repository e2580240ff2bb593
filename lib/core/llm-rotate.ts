import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import { AcquireContext, type LeaseOwner } from './acquire-context';
import { classifyThrown } from './classify';
import { systemClock, type Clock } from './clock';
import type { LlmRotateOptions, StateStoreOptions } from './config/options.interfaces';
import { ResolvedConfig } from './config/resolved-config';
import { loadOptionsFile } from './config/load-file';
import { validateOptions } from './config/validate';
import {
  AllKeysExhaustedError,
  CallCancelledError,
  ClosedError,
  ConfigurationError,
  InvalidRequestError,
  LlmRotateError,
  NoAvailableKeyError,
  ProviderBadRequestError,
  ProviderHttpError,
  ProviderTransportError,
  RequestBuildError,
  SecretResolutionError,
  StreamInterruptedError,
} from './errors';
import { UsageEmitter, type UsageListener } from './events';
import type { Outcome } from './health/health.interfaces';
import { consoleLogger, type LlmRotateLogger } from './logger';
import { InFlight } from './lifecycle/in-flight';
import { Planner, type PlanStep } from './planning/planner';
import type { CallTarget, ClassifiedError, ProviderAdapter, UnifiedRequest } from './providers/provider.interfaces';
import { createAdapters } from './providers/registry';
import { SecretResolver } from './secrets';
import { STRATEGY_IMPLS } from './selection/strategies';
import type { Candidate, CandidateList, SelectionStrategy } from './selection/strategy.interfaces';
import { availableAt } from './store/availability';
import { createStateStore } from './store/create-store';
import type { KeyOverride, Lease, StateStore, StoreHealth } from './store/store.interfaces';
import { boundMessage } from './providers/http-errors';
import { asLibraryError } from './providers/wire-checks';
import { Exchange, readText, type HttpRequest } from './transport/http';
import type {
  AcquireOptions,
  Attempt,
  AttemptOutcome,
  ChatChunk,
  ChatMessage,
  ChatOptions,
  ChatResult,
  ErrorKind,
  ProviderName,
  Usage,
  UsageEvent,
} from './types';
import type { PoolSnapshot } from './snapshot.interfaces';

/** Options as accepted everywhere: camelCase, the Python snake_case dict, or a registry file path. */
export type LlmRotateInput = LlmRotateOptions | Record<string, unknown> | string;

/** Seams for tests and advanced users. */
export interface LlmRotateDeps {
  clock?: Clock;
  logger?: LlmRotateLogger;
  /** Source of randomness for the `weighted` strategy. */
  random?: () => number;
  /** A custom state store (default: built from `registry.stateStore`). */
  store?: StateStore;
}

interface Runtime {
  readonly options: LlmRotateOptions;
  readonly config: ResolvedConfig;
  readonly planner: Planner;
  readonly strategy: SelectionStrategy;
}

/** What a walk over the plan shares with its caller. */
interface Walk {
  /** Keys this call already used (and failed with) in the current round. */
  tried: Set<string> | undefined;
  /** Set when the walk ends: ms until the soonest benched key is back. */
  wait: number | undefined;
}

interface Picked {
  readonly c: Candidate;
  readonly lease: Lease;
}

/** How one attempt ended, before the engine decides what to do next. */
interface AttemptEnd {
  outcome: Outcome;
  attempt: Attempt;
  error?: Error;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
const ZERO_USAGE: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0 });
const ROLES = new Set(['system', 'user', 'assistant']);

/**
 * The framework-free engine (SPEC §1): `new LlmRotate(options)` does everything the Nest module does.
 * Read `chat()` top to bottom for the hot path: plan → select+lease → secret → request → classify →
 * report(+release) → usage event → next candidate or return.
 */
export class LlmRotate implements LeaseOwner {
  /** Resolves when the state store knows the key set; every call waits for it. */
  readonly ready: Promise<void>;
  private rt: Runtime | undefined;
  private readonly clock: Clock;
  private readonly logger: LlmRotateLogger;
  private readonly random: () => number;
  private readonly store: StateStore;
  private readonly storeOptions: StateStoreOptions;
  private readonly secrets: SecretResolver;
  private readonly adapters = createAdapters();
  private readonly usage: UsageEmitter;
  private reloading: Promise<void> = Promise.resolve();
  private readonly inFlight = new InFlight();
  /** Where usage events are logged (the `logUsage` option); undefined: not logged. */
  private usageLog: ((message: string) => void) | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  /** `options`: the camelCase options, the Python-style snake_case dict, or a path to a JSON/YAML registry file. */
  constructor(options: LlmRotateInput, deps: LlmRotateDeps = {}) {
    const valid = validateOptions(typeof options === 'string' ? loadOptionsFile(options) : options);
    const config = this.resolve(valid);
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? consoleLogger;
    this.random = deps.random ?? Math.random;
    this.secrets = new SecretResolver((m) => this.logger.warn(m), () => this.clock.now());
    this.usage = new UsageEmitter((e) => this.logger.error(`A usage listener threw: ${this.describe(e)}`));
    this.storeOptions = valid.registry.stateStore ?? { backend: 'memory' };
    this.store = deps.store ?? createStateStore(this.storeOptions, this.clock, this.logger);
    this.ready = this.install(valid, config);
    // The rejection is observed by whoever awaits `ready` (the Nest factory, `create`, or the next call).
    this.ready.catch(() => undefined);
  }

  /** Builds an instance and waits until it is ready to serve. */
  static async create(options: LlmRotateInput, deps?: LlmRotateDeps): Promise<LlmRotate> {
    const lr = new LlmRotate(options, deps);
    try {
      await lr.ready;
    } catch (e) {
      await lr.close();
      throw e;
    }
    return lr;
  }

  // ───────────────────────────── chat ─────────────────────────────

  async chat(model: string, messages: readonly ChatMessage[], opts: ChatOptions = {}): Promise<ChatResult> {
    this.assertOpen();
    this.inFlight.enter();
    try {
      return await this.chatCall(model, messages, opts);
    } finally {
      this.inFlight.leave();
    }
  }

  private async chatCall(model: string, messages: readonly ChatMessage[], opts: ChatOptions): Promise<ChatResult> {
    const rt = this.rt ?? (await this.runtime());
    const req = toRequest(model, messages, opts);
    const steps = this.stepsFor(rt, model, opts);
    const attempts: Attempt[] = [];
    const requestId = this.usage.active || this.usageLog !== undefined ? randomUUID() : '';
    const started = performance.now();
    let lastError: Error | undefined;
    const walk: Walk = { tried: undefined, wait: undefined };
    for await (const [step, picked] of this.walk(rt, steps, opts, walk)) {
      const end = await this.attemptChat(step, picked, req, opts.signal, requestId);
      attempts.push(end.attempt);
      if (end.result !== undefined) return { ...end.result, latencyMs: Math.round(performance.now() - started), attempts };
      if (end.outcome.kind === 'bad_request' || end.outcome.kind === 'cancelled') throw end.error;
      lastError = end.error;
      (walk.tried ??= new Set()).add(picked.c.key.keyId);
    }
    throw this.exhausted(model, attempts, walk.wait, lastError);
  }

  private async attemptChat(step: PlanStep, picked: Picked, req: UnifiedRequest, signal: AbortSignal | undefined, requestId: string): Promise<AttemptEnd & { result?: Omit<ChatResult, 'attempts' | 'latencyMs'> }> {
    const key = picked.c.key;
    const t0 = performance.now();
    const target = this.target(step, picked);
    if (target instanceof Error) return this.finishAttempt(picked, step, t0, { kind: 'auth' }, target, requestId, 'chat');
    const adapter = this.adapter(key.provider);
    // h1: the exchange takes the provider's deadlines and size caps; a request that cannot be built is a RequestBuildError.
    const ex = new Exchange(key.provider, key.settings, signal);
    try {
      const res = await ex.send(await buildRequest(adapter, target, req, false));
      const text = await readText(ex, res);
      const now = this.clock.now();
      if (!res.ok) {
        const c = adapter.classifyError(res.status, res.headers, text, now);
        return this.finishAttempt(picked, step, t0, outcomeOf(c), this.httpError(key.provider, c), requestId, 'chat');
      }
      let parsed;
      try {
        parsed = adapter.parseResponse(JSON.parse(text), target);
      } catch (e) {
        // An adapter may refuse a well-formed answer with a classified error (e.g. Gemini's blocked prompt: 200, no candidates).
        if (e instanceof ProviderHttpError) return this.finishAttempt(picked, step, t0, outcomeOf(e), e, requestId, 'chat');
        const err = new ProviderTransportError(key.provider, `${key.provider} sent a malformed response: ${this.describe(e)}`, 'EMALFORMED');
        return this.finishAttempt(picked, step, t0, { kind: 'transient' }, err, requestId, 'chat');
      }
      const cooldownUntil = adapter.successCooldownUntil(res.headers, now);
      const end = await this.finishAttempt(picked, step, t0, { kind: 'success', cooldownUntil }, undefined, requestId, 'chat', parsed.usage);
      return {
        ...end,
        result: {
          content: parsed.content,
          model: parsed.model ?? step.model,
          provider: key.provider,
          keyId: key.keyId,
          finishReason: parsed.finishReason,
          usage: parsed.usage,
        },
      };
    } catch (e) {
      // h1: only the library's typed errors leave an attempt (anything else: a malformed answer, EMALFORMED).
      const err = asLibraryError(key.provider, e);
      return this.finishAttempt(picked, step, t0, classifyThrown(err, this.clock.now()), this.scrubError(err), requestId, 'chat');
    } finally {
      ex.finish(false);
    }
  }

  // ──────────────────────────── stream ────────────────────────────

  /**
   * Streams the answer. Fails over to other keys until the first chunk is yielded; after that an error
   * is reported against the key and thrown to the caller. Breaking out of the loop or aborting `signal`
   * cancels the upstream request and releases the key.
   */
  async *stream(model: string, messages: readonly ChatMessage[], opts: ChatOptions = {}): AsyncGenerator<ChatChunk, void, undefined> {
    this.assertOpen();
    this.inFlight.enter();
    try {
      yield* this.streamCall(model, messages, opts);
    } finally {
      this.inFlight.leave();
    }
  }

  private async *streamCall(model: string, messages: readonly ChatMessage[], opts: ChatOptions): AsyncGenerator<ChatChunk, void, undefined> {
    const rt = this.rt ?? (await this.runtime());
    const req = toRequest(model, messages, opts);
    const steps = this.stepsFor(rt, model, opts);
    const attempts: Attempt[] = [];
    const requestId = this.usage.active || this.usageLog !== undefined ? randomUUID() : '';
    let lastError: Error | undefined;
    const walk: Walk = { tried: undefined, wait: undefined };
    for await (const [step, picked] of this.walk(rt, steps, opts, walk)) {
      const failed = yield* this.attemptStream(step, picked, req, opts.signal, requestId);
      if (failed === undefined) return;
      attempts.push(failed.attempt);
      if (failed.outcome.kind === 'bad_request' || failed.outcome.kind === 'cancelled') throw failed.error;
      lastError = failed.error;
      (walk.tried ??= new Set()).add(picked.c.key.keyId);
    }
    throw this.exhausted(model, attempts, walk.wait, lastError);
  }

  /** Returns undefined when the stream completed (or the consumer stopped); the failed attempt before any chunk. */
  private async *attemptStream(
    step: PlanStep,
    picked: Picked,
    req: UnifiedRequest,
    signal: AbortSignal | undefined,
    requestId: string,
  ): AsyncGenerator<ChatChunk, AttemptEnd | undefined, undefined> {
    const key = picked.c.key;
    const t0 = performance.now();
    const target = this.target(step, picked);
    if (target instanceof Error) return this.finishAttempt(picked, step, t0, { kind: 'auth' }, target, requestId, 'stream');
    const adapter = this.adapter(key.provider);
    // h1: the exchange takes the provider's deadlines (timeoutMs, firstTokenTimeoutMs) and size caps.
    const ex = new Exchange(key.provider, key.settings, signal);
    let yielded = false;
    let settled = false;
    const settle = (outcome: Outcome, error: Error | undefined, usage?: Usage): Promise<AttemptEnd> => {
      settled = true;
      return this.finishAttempt(picked, step, t0, outcome, error, requestId, 'stream', usage);
    };
    try {
      let res: Response;
      try {
        res = await ex.send(await buildRequest(adapter, target, req, true)); // h1: RequestBuildError when it cannot be built
      } catch (e) {
        const err = asLibraryError(key.provider, e); // h1
        return await settle(classifyThrown(err, this.clock.now()), this.scrubError(err));
      }
      if (!res.ok) {
        const text = await readText(ex, res).catch(() => '');
        const c = adapter.classifyError(res.status, res.headers, text, this.clock.now());
        return await settle(outcomeOf(c), this.httpError(key.provider, c));
      }
      const cooldownUntil = adapter.successCooldownUntil(res.headers, this.clock.now());
      let finishReason: ChatChunk['finishReason'];
      let inputTokens = 0;
      let outputTokens = 0;
      // h1: how adapter.readStream is driven. A delta with text, a finish or an error is the first token (keep-alives
      // are not); a failure after the first yielded chunk is a StreamInterruptedError carrying the failure as its cause.
      try {
        for await (const d of adapter.readStream(ex, res, target)) {
          if (d.delta || d.finishReason !== undefined || d.error !== undefined) ex.firstToken();
          if (d.error !== undefined) {
            const err = this.httpError(key.provider, d.error);
            const end = await settle(outcomeOf(d.error), err);
            if (!yielded) return end;
            throw interrupted(key.provider, key.keyId, d.error.kind, err);
          }
          if (d.usage !== undefined) {
            if (d.usage.inputTokens !== undefined) inputTokens = d.usage.inputTokens;
            if (d.usage.outputTokens !== undefined) outputTokens = d.usage.outputTokens;
          }
          if (d.finishReason !== undefined) finishReason = d.finishReason;
          if (d.delta !== undefined && d.delta.length > 0) {
            yielded = true;
            yield { delta: d.delta, provider: key.provider, model: step.model, keyId: key.keyId };
          }
        }
      } catch (e) {
        if (settled) throw e;
        const err = asLibraryError(key.provider, e);
        const outcome = classifyThrown(err, this.clock.now());
        const end = await settle(outcome, this.scrubError(err));
        if (!yielded) return end;
        if (outcome.kind === 'cancelled' || outcome.kind === 'success') throw end.error;
        throw interrupted(key.provider, key.keyId, outcome.kind, end.error as Error);
      }
      const usage: Usage = { inputTokens, outputTokens };
      await settle({ kind: 'success', cooldownUntil }, undefined, usage);
      yield { delta: '', provider: key.provider, model: step.model, keyId: key.keyId, finishReason: finishReason ?? 'stop', usage };
      return undefined;
    } finally {
      // Reached with `settled === false` only when the consumer stopped early (break / return / throw into us).
      ex.finish(!settled);
      if (!settled) await settle({ kind: 'cancelled' }, new CallCancelledError('The stream was closed by its consumer'));
    }
  }

  // ──────────────────────────── acquire ───────────────────────────

  /** Lends a healthy key of `provider` for a direct SDK call (SPEC §1). */
  async acquire(provider: ProviderName, opts: AcquireOptions = {}): Promise<AcquireContext> {
    this.assertOpen();
    // A lent key counts as a call in flight until it is settled (see settle()).
    this.inFlight.enter();
    try {
      return await this.acquireKey(provider, opts);
    } catch (e) {
      this.inFlight.leave();
      throw e;
    }
  }

  private async acquireKey(provider: ProviderName, opts: AcquireOptions): Promise<AcquireContext> {
    const rt = this.rt ?? (await this.runtime());
    const list = rt.planner.forProvider(provider, opts.model);
    if (list.items.length === 0) {
      throw new NoAvailableKeyError(`No configured key of provider "${provider}"${opts.model ? ` serves model "${opts.model}"` : ''}`, [], undefined);
    }
    let lastError: Error | undefined;
    const walk: Walk = { tried: undefined, wait: undefined };
    for await (const [, picked] of this.walk(rt, [{ model: opts.model ?? '', list }], opts, walk)) {
      const key = picked.c.key;
      try {
        const secret = this.secrets.resolve(key.keyId, key.secretRef);
        return new AcquireContext(this, picked.lease, secret, provider, key.keyId, opts.model, key.metadata, key.baseUrl);
      } catch (e) {
        await this.store.report(picked.lease, { kind: 'auth' }, 0);
        lastError = e as Error;
        this.logger.warn(lastError.message);
        (walk.tried ??= new Set()).add(key.keyId);
      }
    }
    const wait = walk.wait;
    if (lastError !== undefined && wait === undefined) throw lastError;
    throw new NoAvailableKeyError(`No key of provider "${provider}" is available${wait !== undefined ? `; the soonest is back in ${wait} ms` : ''}`, [], wait);
  }

  /** Acquires a key, runs `fn`, reports success or the thrown error, and releases, whatever happens. */
  async withKey<T>(provider: ProviderName, opts: AcquireOptions, fn: (ctx: AcquireContext) => Promise<T> | T): Promise<T> {
    const ctx = await this.acquire(provider, opts);
    try {
      const out = await fn(ctx);
      await ctx.reportSuccess();
      return out;
    } catch (e) {
      await ctx.reportError(e);
      throw e;
    } finally {
      await ctx.release();
    }
  }

  /** @internal LeaseOwner: settles a lent key. */
  async settle(ctx: AcquireContext, lease: Lease, outcome: Outcome | null, usage: Usage | undefined, error: unknown): Promise<void> {
    try {
      await this.settleLent(ctx, lease, outcome, usage, error);
    } finally {
      this.inFlight.leave();
    }
  }

  private async settleLent(ctx: AcquireContext, lease: Lease, outcome: Outcome | null, usage: Usage | undefined, error: unknown): Promise<void> {
    if (outcome === null) {
      await this.store.release(lease);
      return;
    }
    const key = this.rt?.config.keysById.get(lease.keyId);
    await this.store.report(lease, outcome, usage ? usage.inputTokens + usage.outputTokens : 0);
    if (key === undefined) return;
    this.emit({
      requestId: '',
      source: 'acquire',
      provider: ctx.provider,
      model: ctx.model ?? '',
      keyId: lease.keyId,
      outcome: outcome.kind,
      errorClass: error === undefined ? undefined : errorName(error),
      status: statusOfError(error),
      latencyMs: 0,
      inputTokens: usage?.inputTokens,
      outputTokens: usage?.outputTokens,
    });
  }

  /** @internal LeaseOwner: classifies what a user caught. */
  classify(error: unknown): Outcome {
    return classifyThrown(error, this.clock.now());
  }

  // ──────────────────────── reload, snapshot, events, close ────────────────────────

  /**
   * Swaps the configuration of a live instance. The new options are validated first: a bad config is
   * rejected with {@link ConfigurationError} and the old one keeps serving. Surviving keys keep their health;
   * in-flight calls finish on the keys they hold.
   */
  reload(options: LlmRotateInput): Promise<void> {
    this.assertOpen();
    const next = this.reloading.then(async () => {
      await this.ready;
      const valid = validateOptions(typeof options === 'string' ? loadOptionsFile(options) : options);
      const a = this.storeOptions;
      const b = valid.registry.stateStore ?? { backend: 'memory' };
      if (a.backend !== b.backend || (a.backend === 'redis' && b.backend === 'redis' && (a.redisUrl !== b.redisUrl || a.redisNamespace !== b.redisNamespace))) {
        throw new ConfigurationError(['registry.stateStore: cannot change on reload (create a new instance instead)']);
      }
      await this.install(valid, this.resolve(valid));
    });
    this.reloading = next.catch(() => undefined);
    return next;
  }

  /** The pool's status (SPEC §1); never a secret or a secretRef. */
  async snapshot(): Promise<PoolSnapshot> {
    const rt = this.rt ?? (await this.runtime());
    const rows = await this.store.snapshot();
    const byId = new Map(rows.map((r) => [r.keyId, r]));
    const now = this.clock.now();
    const providers: PoolSnapshot['providers'] = {};
    const keys: PoolSnapshot['keys'] = [];
    for (const key of rt.config.keys) {
      const row = byId.get(key.keyId);
      if (row === undefined) continue;
      const available = row.state === 'ACTIVE' || row.state === 'PROBATION';
      const entry = rt.planner.entryOf(key.keyId);
      const free = entry !== undefined && availableAt(entry, now) === 0;
      keys.push({ ...row, provider: key.provider, models: key.models ? [...key.models] : [], priority: key.priority, weight: key.weight, available: available && free });
      const p = (providers[key.provider] ??= { keys: 0, available: 0 });
      p.keys++;
      if (available && free) p.available++;
    }
    return { strategy: rt.config.strategy, store: this.store.health(), keys, providers };
  }

  storeHealth(): StoreHealth {
    return this.store.health();
  }

  /** Takes a key out of rotation (for every worker with the Redis store) until {@link enableKey}; a reload keeps it out. */
  disableKey(keyId: string): Promise<boolean> {
    return this.overrideKey(keyId, 'disable');
  }

  /** Undoes {@link disableKey} (a key disabled in the configuration stays disabled). */
  enableKey(keyId: string): Promise<boolean> {
    return this.overrideKey(keyId, 'enable');
  }

  /** Clears a key's cooldown or quarantine and its failure count: it is ACTIVE now. */
  resetKey(keyId: string): Promise<boolean> {
    return this.overrideKey(keyId, 'reset');
  }

  private async overrideKey(keyId: string, action: KeyOverride): Promise<boolean> {
    const rt = this.rt ?? (await this.runtime());
    if (!rt.config.keysById.has(keyId)) return false;
    return this.store.override(keyId, action);
  }

  /** Never prints secrets or refs: a summary only. */
  [inspect.custom](): string {
    const c = this.rt?.config;
    return `LlmRotate { strategy: ${c?.strategy ?? '?'}, keys: ${c?.keys.length ?? 0}, store: ${this.store.backend}${this.closed ? ', closed' : ''} }`;
  }

  toJSON(): Record<string, unknown> {
    return { strategy: this.rt?.config.strategy, keys: this.rt?.config.keys.map((k) => k.keyId), store: this.store.backend, closed: this.closed };
  }

  /** Subscribes to usage events (one per attempt); returns the unsubscribe function. */
  onUsage(listener: UsageListener): () => void {
    return this.usage.subscribe(listener);
  }

  /** Calls in flight now (chat, stream, lent keys not yet settled). */
  get callsInFlight(): number {
    return this.inFlight.size;
  }

  /**
   * Drains, then releases the store's leases and connections. Calls in flight (and calls still arriving) are
   * served until none is left or `drainTimeoutMs` (default: the `shutdownTimeoutMs` option, 10 s) has passed;
   * after that, calls throw {@link ClosedError}. Safe to call twice (the second call waits for the first).
   */
  close(opts: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.closing === undefined) {
      // Nothing in flight: closed at once, so a call right after close() is refused.
      if (this.inFlight.size === 0) this.closed = true;
      const ms = opts.drainTimeoutMs ?? this.rt?.options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
      this.closing = (async () => {
        const drained = await this.inFlight.drained(ms);
        this.closed = true;
        if (!drained) this.logger.warn(`close(): ${this.inFlight.size} call(s) still in flight after ${ms} ms; releasing their keys`);
        await this.ready.catch(() => undefined);
        await this.store.close();
        this.usage.clear();
      })();
    }
    return this.closing;
  }

  /** The validated options in force (camelCased). Each key's `secretRef` is hidden from JSON and inspect. */
  get options(): LlmRotateOptions {
    return (this.rt as Runtime).options;
  }

  // ───────────────────────────── internals ─────────────────────────────

  private resolve(valid: LlmRotateOptions): ResolvedConfig {
    const config = new ResolvedConfig(valid);
    const problems: string[] = [];
    for (const k of config.keys) {
      const adapter = this.adapters[k.provider];
      if (adapter === undefined) problems.push(`registry.keys(${k.keyId}).provider: "${k.provider}" has no adapter in this version`);
      else if (!k.baseUrl && !adapter.defaultBaseUrl) problems.push(`registry.keys(${k.keyId}).baseUrl: ${k.provider} needs a baseUrl (on the key or in registry.providers.${k.provider})`);
      else problems.push(...(adapter.configProblems?.({ keyId: k.keyId, baseUrl: k.baseUrl ?? adapter.defaultBaseUrl, settings: k.settings, metadata: k.metadata }) ?? []));
    }
    if (problems.length > 0) throw new ConfigurationError(problems);
    return config;
  }

  private async install(options: LlmRotateOptions, config: ResolvedConfig): Promise<void> {
    const entries = await this.store.sync(config.keys.map((k) => k.spec));
    this.usageLog = usageLogger(this.logger, options.logUsage);
    this.rt = { options, config, planner: new Planner(config, entries), strategy: STRATEGY_IMPLS[config.strategy] };
  }

  private async runtime(): Promise<Runtime> {
    this.assertOpen();
    await this.ready;
    return this.rt as Runtime;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError();
  }

  private stepsFor(rt: Runtime, model: string, opts: ChatOptions): readonly PlanStep[] {
    if (this.closed) throw new ClosedError();
    const steps = rt.planner.plan(model, opts.provider, opts.fallback !== false);
    if (steps.length === 0) {
      throw new NoAvailableKeyError(`No configured key serves model "${model}"${opts.provider ? ` on provider "${opts.provider}"` : ''}`, [], undefined);
    }
    return steps;
  }

  /** Strategy pick on the entries, then an atomic lease in the store; a lost race re-picks. */
  private async select(rt: Runtime, list: CandidateList, tried: ReadonlySet<string> | undefined, signal: AbortSignal | undefined): Promise<Picked | undefined> {
    if (signal?.aborted) throw new CallCancelledError();
    let skip = tried;
    for (;;) {
      const c = rt.strategy.pick(list, this.clock.now(), skip, this.random);
      if (c === undefined) return undefined;
      const lease = await this.store.lease(c.entry, rt.config.leaseTtlMs);
      if (lease !== null) return { c, lease };
      // Somebody else took it first (another worker, or its state changed): never pick it again this round.
      const s = new Set(skip);
      s.add(c.entry.keyId);
      skip = s;
    }
  }

  /**
   * Yields leased candidates in plan order until the caller stops: each step's keys as the strategy ranks them,
   * skipping keys the caller marked as tried. When nothing is left it waits for the soonest benched key if that
   * is within `maxWaitMs` (then every key may be tried again), else records `wait` and ends.
   */
  private async *walk(rt: Runtime, steps: readonly PlanStep[], opts: { signal?: AbortSignal; maxWaitMs?: number }, w: Walk): AsyncGenerator<[PlanStep, Picked], void, undefined> {
    const deadline = this.clock.now() + (opts.maxWaitMs ?? 0);
    let raced = 0;
    for (;;) {
      for (const step of steps) {
        for (;;) {
          const picked = await this.select(rt, step.list, w.tried, opts.signal);
          if (picked === undefined) break;
          yield [step, picked];
        }
      }
      const wait = this.soonest(steps, w.tried);
      // A key came back between the pick and now (a release, a timer): look again at once, a few times at most.
      if (wait === 0 && raced++ < 3) continue;
      if (wait !== undefined && wait > 0 && opts.maxWaitMs && this.clock.now() + wait <= deadline) {
        await this.sleep(wait, opts.signal);
        w.tried = undefined;
        raced = 0;
        continue;
      }
      w.wait = wait === 0 ? undefined : wait;
      return;
    }
  }

  /** Ms until the soonest candidate can be leased: 0 if one not yet tried is free now; undefined when none will be. */
  private soonest(steps: readonly PlanStep[], tried: ReadonlySet<string> | undefined): number | undefined {
    const now = this.clock.now();
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

  private async sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.clock.sleep(ms, signal);
    } catch {
      throw new CallCancelledError();
    }
  }

  /** The call's target; a secret that cannot be resolved makes the key unusable here, so it is quarantined like an auth failure. */
  private target(step: PlanStep, picked: Picked): CallTarget | SecretResolutionError {
    const key = picked.c.key;
    let secret: string;
    try {
      secret = this.secrets.resolve(key.keyId, key.secretRef);
    } catch (e) {
      this.logger.warn((e as Error).message);
      return e as SecretResolutionError;
    }
    return {
      provider: key.provider,
      keyId: key.keyId,
      model: step.model,
      secret,
      baseUrl: key.baseUrl ?? this.adapter(key.provider).defaultBaseUrl,
      settings: key.settings,
      metadata: key.metadata,
    };
  }

  private adapter(p: ProviderName): ProviderAdapter {
    return this.adapters[p] as ProviderAdapter;
  }

  /** Reports the outcome (releasing the lease), records the attempt and emits its usage event. */
  private async finishAttempt(
    picked: Picked,
    step: PlanStep,
    t0: number,
    outcome: Outcome,
    error: Error | undefined,
    requestId: string,
    source: 'chat' | 'stream',
    usage: Usage = ZERO_USAGE,
  ): Promise<AttemptEnd> {
    const key = picked.c.key;
    await this.store.report(picked.lease, outcome, usage.inputTokens + usage.outputTokens);
    const latencyMs = Math.round(performance.now() - t0);
    const status = statusOfError(error);
    const attempt: Attempt = { provider: key.provider, model: step.model, keyId: key.keyId, outcome: outcome.kind, latencyMs };
    if (error !== undefined) {
      attempt.errorClass = error.name;
      attempt.message = this.secrets.scrub(error.message);
    }
    if (status !== undefined) attempt.status = status;
    if (this.usage.active || this.usageLog !== undefined) {
      this.emit({
        requestId,
        source,
        provider: key.provider,
        model: step.model,
        keyId: key.keyId,
        outcome: outcome.kind,
        errorClass: attempt.errorClass,
        status,
        latencyMs,
        inputTokens: outcome.kind === 'success' ? usage.inputTokens : undefined,
        outputTokens: outcome.kind === 'success' ? usage.outputTokens : undefined,
      });
    }
    return { outcome, attempt, error };
  }

  private emit(e: Omit<UsageEvent, 'timestamp'>): void {
    const event: UsageEvent = { timestamp: this.clock.now(), ...e };
    if (this.usageLog !== undefined) this.usageLog(`usage ${JSON.stringify(event)}`);
    this.usage.emit(event);
  }


  private httpError(provider: ProviderName, c: ClassifiedError): ProviderHttpError {
    // h1: scrub first, then bound (a cut before scrubbing leaves part of an echoed key).
    const msg = `${provider} answered ${c.status}: ${boundMessage(this.secrets.scrub(c.message))}`;
    return c.kind === 'bad_request'
      ? new ProviderBadRequestError(provider, c.status, c.kind, msg, c.retryAfterMs)
      : new ProviderHttpError(provider, c.status, c.kind, msg, c.retryAfterMs);
  }

  /** Errors leaving the library carry no secret. */
  private scrubError(e: Error): Error {
    const clean = boundMessage(this.secrets.scrub(e.message), 1000); // h1: bounded after scrubbing
    if (clean !== e.message) e.message = clean;
    return e;
  }

  private describe(e: unknown): string {
    return this.secrets.scrub(e instanceof Error ? e.message : String(e));
  }

  private exhausted(model: string, attempts: Attempt[], wait: number | undefined, lastError: Error | undefined): NoAvailableKeyError {
    const tail = wait !== undefined ? `; the soonest key is back in ${wait} ms` : '';
    if (attempts.length === 0) {
      if (lastError !== undefined) return new AllKeysExhaustedError(`No key could serve "${model}": ${lastError.message}${tail}`, attempts, wait);
      return new NoAvailableKeyError(`No key for "${model}" is available now${tail}`, attempts, wait);
    }
    const list = attempts.map((a) => `${a.keyId}: ${a.outcome}${a.status ? ` ${a.status}` : ''}${a.errorClass ? ` (${a.errorClass})` : ''}`).join(', ');
    const err = new AllKeysExhaustedError(`All keys for "${model}" failed [${list}]${tail}`, attempts, wait);
    if (lastError !== undefined) (err as { cause?: unknown }).cause = lastError;
    return err;
  }
}

/** The logger method usage events go to (the `logUsage` option), or undefined when they are not logged. */
function usageLogger(logger: LlmRotateLogger, level: LlmRotateOptions['logUsage']): ((message: string) => void) | undefined {
  if (level === undefined || level === false) return undefined;
  const name = level === true ? 'debug' : level;
  const fn = logger[name] ?? logger.debug;
  return fn === undefined ? undefined : (m) => fn.call(logger, m);
}

function toRequest(model: string, messages: readonly ChatMessage[], opts: ChatOptions): UnifiedRequest {
  if (typeof model !== 'string' || model.length === 0) throw new InvalidRequestError('model: must be a non-empty string');
  if (!Array.isArray(messages) || messages.length === 0) throw new InvalidRequestError('messages: must be a non-empty array');
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (m === null || typeof m !== 'object' || !ROLES.has(m.role)) throw new InvalidRequestError(`messages[${i}].role: must be one of system, user, assistant`);
    if (typeof m.content !== 'string' && !(Array.isArray(m.content) && (m.content as readonly unknown[]).every((p) => isTextPart(p)))) {
      throw new InvalidRequestError(`messages[${i}].content: must be a string or an array of { type: 'text', text }`);
    }
  }
  return { messages, temperature: opts.temperature, maxTokens: opts.maxTokens, topP: opts.topP, stop: opts.stop };
}

function isTextPart(p: unknown): boolean {
  return typeof p === 'object' && p !== null && (p as { type?: unknown }).type === 'text' && typeof (p as { text?: unknown }).text === 'string';
}

// h1: a request an adapter cannot build (a bug or an odd input in a vendor library) is not the key's failure.
async function buildRequest(adapter: ProviderAdapter, target: CallTarget, req: UnifiedRequest, stream: boolean): Promise<HttpRequest> {
  try {
    return await adapter.buildRequest(target, req, stream);
  } catch (e) {
    if (e instanceof LlmRotateError) throw e;
    throw new RequestBuildError(adapter.provider, `${adapter.provider}: the request could not be built (${e instanceof Error ? e.name : typeof e})`);
  }
}

// h1: a stream that failed after its first chunk was yielded.
function interrupted(provider: ProviderName, keyId: string, kind: ErrorKind, cause: Error): StreamInterruptedError {
  return new StreamInterruptedError(provider, keyId, kind, `The ${provider} stream of key "${keyId}" broke off after its first chunk: ${cause.message}`, { cause });
}

function outcomeOf(c: ClassifiedError): Outcome {
  return c.kind === 'rate_limit' ? { kind: 'rate_limit', retryAfterMs: c.retryAfterMs } : { kind: c.kind };
}

function statusOfError(e: unknown): number | undefined {
  if (e instanceof ProviderHttpError) return e.status;
  const s = (e as { status?: unknown } | undefined)?.status;
  return typeof s === 'number' ? s : undefined;
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : typeof e === 'object' && e !== null && 'kind' in e ? 'ExplicitReport' : typeof e;
}

export type { AttemptOutcome };
