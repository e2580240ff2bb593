import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import { AcquireContext, type LeaseOwner, type LentKey } from './acquire-context';
import { AttemptRunner } from './attempt/attempt-runner';
import type { AttemptEnd, Runtime } from './attempt/attempt.interfaces';
import { Call, type CallLimits } from './attempt/call';
import { chatAttempt } from './attempt/chat.attempt';
import { toRequest } from './attempt/request';
import { streamAttempt } from './attempt/stream.attempt';
import { classifyThrown } from './classify';
import { systemClock, type Clock } from './clock';
import type { LlmRotateOptions, StateStoreOptions } from './config/options.interfaces';
import { checkCallOptions } from './config/call-options';
import { ResolvedConfig } from './config/resolved-config';
import { loadOptionsFile } from './config/load-file';
import { validateOptions } from './config/validate';
import { CallCancelledError, ClosedError, ConfigurationError, NoAvailableKeyError, UnknownModelError } from './errors';
import { UsageEmitter, type UsageListener } from './events';
import { FetchCredentials } from './fetch/credentials';
import { createFetchFor } from './fetch/fetch-for';
import type { FetchForOptions, FetchHost, RotatingFetch } from './fetch/fetch-for.interfaces';
import type { Outcome } from './health/health.interfaces';
import { InFlight } from './lifecycle/in-flight';
import { consoleLogger, type LlmRotateLogger } from './logger';
import type { CallSource, EngineObserver } from './observability/observer.interfaces';
import { Observers } from './observability/observers';
import { PriceBook } from './observability/pricing/price-book';
import { UsageRecorder, type UsageSummary } from './observability/usage-summary';
import { TracingSwitch } from './observability/tracing/tracing-switch';
import type { OtelProviders } from './observability/tracing/tracing.interfaces';
import { Planner, type PlanStep } from './planning/planner';
import { createAdapters } from './providers/registry';
import { SecretResolver } from './secrets';
import { STRATEGY_IMPLS } from './selection/strategies';
import { availableAt } from './store/availability';
import { createStateStore } from './store/create-store';
import type { KeyOverride, StateStore, StoreHealth } from './store/store.interfaces';
import type { PoolSnapshot } from './snapshot.interfaces';
import type { AcquireOptions, ChatChunk, ChatMessage, ChatOptions, ChatResult, ProviderName, Usage } from './types';

/** Options as the engine accepts them: the camelCase options, or a path to a JSON/YAML registry file. */
export type LlmRotateInput = LlmRotateOptions | string;

/** Seams for tests and advanced users. */
export interface LlmRotateDeps {
  clock?: Clock;
  logger?: LlmRotateLogger;
  /** Source of randomness for the `weighted` strategy and the walk's jitter. */
  random?: () => number;
  /** A custom state store (default: built from `registry.stateStore`). */
  store?: StateStore;
  /** OpenTelemetry tracer/meter providers to use instead of the global ones (turns tracing on unless `tracing: false`). */
  otel?: OtelProviders;
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * The framework-free engine (SPEC §1): `new LlmRotate(options)` does everything the Nest module does.
 *
 * Every kind of call — `chat()`, `stream()`, `acquire()`, a `fetchFor()` request — has the same shape: plan the
 * candidates, then for each attempt the {@link AttemptRunner} leases a key (select + lease, one atomic store step) and
 * resolves its secret, the call's own middle runs (an HTTP exchange, a stream, a lent key, a client's request), and
 * the runner settles the outcome (report + release, one store step; usage event). How one attempt is made and
 * settled lives in `attempt/attempt-runner.ts`; the fetch middle in `fetch/fetch.attempt.ts`.
 */
export class LlmRotate implements LeaseOwner {
  /** Resolves when the state store knows the key set; every call waits for it. */
  readonly ready: Promise<void>;
  private rt: Runtime | undefined;
  private readonly clock: Clock;
  private readonly logger: LlmRotateLogger;
  private readonly store: StateStore;
  private readonly storeOptions: StateStoreOptions;
  private readonly secrets: SecretResolver;
  private readonly usage: UsageEmitter;
  private readonly observers: Observers;
  private readonly tracing: TracingSwitch;
  private readonly runner: AttemptRunner;
  private readonly inFlight = new InFlight();
  private readonly summary: UsageRecorder;
  private prices = new PriceBook(undefined);
  /** Where usage events are logged (the `logUsage` option); undefined: not logged. */
  private usageLog: ((message: string) => void) | undefined;
  private fetchHost: FetchHost | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly now: () => number;

  /** `options`: the camelCase options, or a path to a JSON/YAML registry file (see `fromPythonConfig` for the Python dict). */
  constructor(options: LlmRotateInput, deps: LlmRotateDeps = {}) {
    const valid = validateOptions(typeof options === 'string' ? loadOptionsFile(options) : options);
    const adapters = createAdapters();
    const config = resolve(valid, adapters);
    this.clock = deps.clock ?? systemClock;
    this.now = () => this.clock.now();
    this.logger = deps.logger ?? consoleLogger;
    this.secrets = new SecretResolver((m) => this.logger.warn(m), this.now);
    this.usage = new UsageEmitter((e) => this.logger.error(`A usage listener threw: ${this.describe(e)}`));
    this.observers = new Observers((e) => this.logger.error(`An observer threw: ${this.describe(e)}`));
    this.tracing = new TracingSwitch((o) => this.observers.add(o), deps.otel);
    this.summary = new UsageRecorder(this.now);
    this.storeOptions = valid.registry.stateStore ?? { backend: 'memory' };
    this.store = deps.store ?? createStateStore(this.storeOptions, this.clock, this.logger);
    this.runner = new AttemptRunner({
      store: this.store,
      secrets: this.secrets,
      clock: this.clock,
      random: deps.random ?? Math.random,
      logger: this.logger,
      adapters,
      usage: this.usage,
      summary: this.summary,
      prices: () => this.prices,
      usageLog: () => this.usageLog,
    });
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
      const rt = this.rt ?? (await this.runtime());
      const req = toRequest(model, messages, opts);
      const steps = this.plan(rt, model, opts);
      const call = this.begin('chat', model, opts.provider, opts);
      try {
        for await (const at of this.runner.leases(rt, call, steps)) {
          const { end, answer } = await chatAttempt(this.runner, call, at, req, this.now);
          if (answer !== undefined) {
            const result: ChatResult = { ...answer, latencyMs: Math.round(performance.now() - call.startedAt), attempts: call.attempts };
            call.obs?.callEnded({ outcome: 'success', keyId: result.keyId, provider: result.provider, model: result.model, usage: result.usage, attempts: call.attempts.length });
            return result;
          }
          if (stopsTheCall(end)) throw end.error;
          call.failedWith(at.key.keyId, end.error);
        }
        throw call.exhausted();
      } catch (e) {
        this.failed(call, e);
        throw e;
      }
    } finally {
      this.inFlight.leave();
    }
  }

  // ──────────────────────────── stream ────────────────────────────

  /**
   * Streams the answer. Fails over to other keys until the first chunk is yielded; after that a failure is reported
   * against the key and thrown to the caller as `StreamInterruptedError`. Breaking out of the loop or aborting
   * `signal` cancels the upstream request and releases the key.
   */
  async *stream(model: string, messages: readonly ChatMessage[], opts: ChatOptions = {}): AsyncGenerator<ChatChunk, void, undefined> {
    this.assertOpen();
    this.inFlight.enter();
    try {
      const rt = this.rt ?? (await this.runtime());
      const req = toRequest(model, messages, opts);
      const steps = this.plan(rt, model, opts);
      const call = this.begin('stream', model, opts.provider, opts);
      let ended = false;
      try {
        for await (const at of this.runner.leases(rt, call, steps)) {
          const end = yield* streamAttempt(this.runner, call, at, req, this.now);
          if (end.outcome.kind === 'success') {
            ended = true;
            call.obs?.callEnded({ outcome: 'success', keyId: at.key.keyId, provider: at.key.provider, model: at.step.model, usage: end.usage, attempts: call.attempts.length });
            return;
          }
          if (stopsTheCall(end)) throw end.error;
          call.failedWith(at.key.keyId, end.error);
        }
        throw call.exhausted();
      } catch (e) {
        ended = true;
        this.failed(call, e);
        throw e;
      } finally {
        // The consumer stopped reading (break, return, a closed SSE connection).
        if (!ended) call.obs?.callEnded({ outcome: 'cancelled', attempts: call.attempts.length });
      }
    } finally {
      this.inFlight.leave();
    }
  }

  // ──────────────────────────── acquire ───────────────────────────

  /** Lends a healthy key of `provider` for a direct SDK call (SPEC §1). It counts as a call in flight until settled. */
  async acquire(provider: ProviderName, opts: AcquireOptions = {}): Promise<AcquireContext> {
    this.assertOpen();
    this.inFlight.enter();
    let lent = false;
    try {
      checkCallOptions(opts, 'acquire');
      const rt = this.rt ?? (await this.runtime());
      const list = rt.planner.forProvider(provider, opts.model);
      if (list.items.length === 0) {
        if (opts.model !== undefined) throw new UnknownModelError(opts.model, rt.planner.whyUnserved(opts.model, provider), provider);
        throw new ConfigurationError([`acquire("${provider}"): no used key has provider "${provider}"`], `No configured key of provider "${provider}" is in useKeys`);
      }
      const call = this.begin('acquire', opts.model ?? '', provider, opts);
      try {
        for await (const at of this.runner.leases(rt, call, [{ model: opts.model ?? '', list }])) {
          const key = at.key;
          const ctx = new AcquireContext(this, { call, at }, at.target.secret, provider, key.keyId, opts.model, key.metadata, key.baseUrl);
          lent = true;
          return ctx;
        }
        throw call.exhausted();
      } catch (e) {
        this.failed(call, e);
        throw e;
      }
    } finally {
      if (!lent) this.inFlight.leave();
    }
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

  // ──────────────────────────── fetchFor ───────────────────────────

  /**
   * A `fetch` for the official clients and the AI SDKs (`new OpenAI({ apiKey: 'managed', fetch: llm.fetchFor('openai') })`):
   * each request leases a key of `provider`, carries its credential, rotates on rate limits, auth and transient
   * failures, hands back the caller's faults untouched, and holds the lease until the answer's body is read or
   * cancelled. Every request is a call on the same attempt path as `chat()` (usage events with `source: 'fetch'`).
   */
  fetchFor(provider: ProviderName, opts: FetchForOptions = {}): RotatingFetch {
    this.assertOpen();
    const host = (this.fetchHost ??= {
      runner: this.runner,
      runtime: () => this.rt ?? this.runtime(),
      begin: (model, p, limits) => this.begin('fetch', model, p, limits),
      failed: (call, e) => this.failed(call, e),
      enter: () => {
        this.assertOpen();
        this.inFlight.enter();
      },
      leave: () => this.inFlight.leave(),
      now: this.now,
      scrub: (text) => this.secrets.scrub(text),
      credentials: new FetchCredentials(),
    });
    return createFetchFor(host, provider, opts);
  }

  /** @internal LeaseOwner: settles a lent key through the same runner as every other attempt. */
  async settle(ctx: AcquireContext, lent: LentKey, outcome: Outcome | null, usage: Usage | undefined, error: unknown): Promise<void> {
    const { call, at } = lent;
    try {
      if (outcome === null) {
        await this.runner.release(at);
        call.obs?.callEnded({ outcome: 'cancelled', keyId: ctx.keyId, provider: ctx.provider, attempts: 0 });
        return;
      }
      const end = await this.runner.settle(call, at, outcome, reportedError(error), usage);
      call.obs?.callEnded({ outcome: end.outcome.kind, keyId: ctx.keyId, provider: ctx.provider, model: ctx.model, usage, attempts: call.attempts.length });
    } finally {
      this.inFlight.leave();
    }
  }

  /** @internal LeaseOwner: classifies what a user caught. */
  classify(error: unknown): Outcome {
    return classifyThrown(error, this.clock.now());
  }

  // ──────────────────────── reload, snapshot, events, close ────────────────────────

  /**
   * Swaps the configuration of a live instance. The new options are validated first: a bad config is
   * rejected with {@link ConfigurationError} and the old one keeps serving. Surviving keys keep their health;
   * in-flight calls finish on the keys they hold. Every secret is resolved again.
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
      await this.install(valid, resolve(valid, createAdapters()));
    });
    this.reloading = next.catch(() => undefined);
    return next;
  }

  /** The pool's status (SPEC §1); never a secret or a secretRef. Never throws because of what a store holds. */
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
      const healthy = row.state === 'ACTIVE' || row.state === 'PROBATION';
      const entry = rt.planner.entryOf(key.keyId);
      const available = healthy && entry !== undefined && availableAt(entry, now) === 0;
      const snap: PoolSnapshot['keys'][number] = { ...row, provider: key.provider, models: key.models ? [...key.models] : [], priority: key.priority, weight: key.weight, available };
      const reason = entry !== undefined && entry.blockedUntil > now ? this.runner.localProblems.get(key.keyId) : undefined;
      if (reason !== undefined) snap.reason = reason;
      keys.push(snap);
      const p = (providers[key.provider] ??= { keys: 0, available: 0 });
      p.keys++;
      if (available) p.available++;
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

  /** Never prints secrets or refs: a summary only. */
  [inspect.custom](): string {
    const c = this.rt?.config;
    return `LlmRotate { strategy: ${c?.strategy ?? '?'}, keys: ${c?.keys.length ?? 0}, store: ${this.store.backend}${this.closed ? ', closed' : ''} }`;
  }

  toJSON(): Record<string, unknown> {
    return { strategy: this.rt?.config.strategy, keys: this.rt?.config.keys.map((k) => k.keyId), store: this.store.backend, closed: this.closed };
  }

  /**
   * This process's counters since start (or the last `resetUsage()`): per key, provider and model, attempts,
   * failures by kind, tokens and estimated cost (successes of unpriced models are counted apart, never as 0 USD).
   */
  usageSummary(): UsageSummary {
    return this.summary.summary();
  }

  resetUsage(): void {
    this.summary.reset();
  }

  /** Subscribes to usage events (one per attempt); returns the unsubscribe function. */
  onUsage(listener: UsageListener): () => void {
    return this.usage.subscribe(listener);
  }

  /** Registers call/attempt hooks (tracing, metrics); returns the function that removes them. */
  addObserver(observer: EngineObserver): () => void {
    return this.observers.add(observer);
  }

  /** Calls in flight now (chat, stream, lent keys not yet settled, fetches whose answer is not yet read). */
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

  private async install(options: LlmRotateOptions, config: ResolvedConfig): Promise<void> {
    this.tracing.apply(options.tracing);
    this.secrets.useResolvers(options.secretResolvers);
    const entries = await this.store.sync(config.keys.map((k) => k.spec));
    const planner = new Planner(config, entries);
    await this.checkSecrets(config, planner);
    this.usageLog = usageLogger(this.logger, options.logUsage);
    this.prices = new PriceBook(options.pricing);
    this.rt = { options, config, planner, strategy: STRATEGY_IMPLS[config.strategy] };
  }

  /**
   * Resolves every key's secret once (start-up and reload), so a missing one is known before the first call: it is
   * warned about (key id and ref, never a value) and the key is held back in this process, with the reason in the
   * snapshot and the health output, until it resolves.
   */
  private async checkSecrets(config: ResolvedConfig, planner: Planner): Promise<void> {
    await Promise.all(
      config.keys.map(async (k) => {
        const entry = planner.entryOf(k.keyId);
        if (entry === undefined) return;
        try {
          await this.secrets.resolve(k.keyId, k.secretRef);
          entry.blockedUntil = 0;
          this.runner.localProblems.delete(k.keyId);
        } catch (e) {
          this.runner.holdBack(k.keyId, entry, e instanceof Error ? e : new Error(String(e)));
        }
      }),
    );
  }

  private async runtime(): Promise<Runtime> {
    this.assertOpen();
    await this.ready;
    return this.rt as Runtime;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError();
  }

  /** The call's plan; a model no used key can serve is the caller's configuration problem, named. */
  private plan(rt: Runtime, model: string, opts: ChatOptions): readonly PlanStep[] {
    const steps = rt.planner.plan(model, opts.provider, opts.fallback !== false);
    if (steps.length === 0) throw new UnknownModelError(model, rt.planner.whyUnserved(model, opts.provider), opts.provider);
    return steps;
  }

  private begin(source: CallSource, model: string, provider: ProviderName | undefined, limits: CallLimits): Call {
    const requestId = this.usage.active || this.usageLog !== undefined || this.observers.active ? randomUUID() : '';
    const obs = this.observers.active ? this.observers.callStarted({ source, model, provider, requestId }) : undefined;
    return new Call(source, model, provider, requestId, limits, obs);
  }

  private failed(call: Call, e: unknown): void {
    if (call.obs === undefined) return;
    const error = e instanceof Error ? e : new Error(String(e));
    const outcome = e instanceof NoAvailableKeyError ? 'exhausted' : e instanceof CallCancelledError ? 'cancelled' : (call.attempts.at(-1)?.outcome ?? 'exhausted');
    call.obs.callEnded({ outcome, error, attempts: call.attempts.length });
  }

  private async overrideKey(keyId: string, action: KeyOverride): Promise<boolean> {
    const rt = this.rt ?? (await this.runtime());
    if (!rt.config.keysById.has(keyId)) return false;
    return this.store.override(keyId, action);
  }

  private describe(e: unknown): string {
    return this.secrets.scrub(e instanceof Error ? e.message : String(e));
  }
}

/** Adapter-level checks of the resolved configuration (a provider without a default base URL, a Bedrock key without a region…). */
function resolve(valid: LlmRotateOptions, adapters: ReturnType<typeof createAdapters>): ResolvedConfig {
  const config = new ResolvedConfig(valid);
  const problems: string[] = [];
  for (const k of config.keys) {
    const adapter = adapters[k.provider];
    if (adapter === undefined) problems.push(`registry.keys(${k.keyId}).provider: "${k.provider}" has no adapter in this version`);
    else if (!k.baseUrl && !adapter.defaultBaseUrl) problems.push(`registry.keys(${k.keyId}).baseUrl: ${k.provider} needs a baseUrl (on the key or in registry.providers.${k.provider})`);
    else problems.push(...(adapter.configProblems?.({ keyId: k.keyId, baseUrl: k.baseUrl ?? adapter.defaultBaseUrl, settings: k.settings, metadata: k.metadata }) ?? []));
  }
  if (problems.length > 0) throw new ConfigurationError(problems);
  return config;
}

/** A caller's fault or a caller's abort ends the call at once: another key would fail the same way, or nobody listens. */
function stopsTheCall(end: AttemptEnd): boolean {
  return end.outcome.kind === 'bad_request' || end.outcome.kind === 'cancelled';
}

/** What a user reported on a lent key, as the attempt's error (an explicit `{ kind }` report shows as `ExplicitReport`). */
function reportedError(error: unknown): Error | undefined {
  if (error === undefined) return undefined;
  if (error instanceof Error) return error;
  const e = new Error(typeof error === 'object' && error !== null && 'kind' in error ? `reported as ${String((error as { kind: unknown }).kind)}` : String(error));
  e.name = typeof error === 'object' && error !== null && 'kind' in error ? 'ExplicitReport' : typeof error;
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number') (e as Error & { status?: number }).status = status;
  return e;
}

/** The logger method usage events go to (the `logUsage` option), or undefined when they are not logged. */
function usageLogger(logger: LlmRotateLogger, level: LlmRotateOptions['logUsage']): ((message: string) => void) | undefined {
  if (level === undefined || level === false) return undefined;
  const name = level === true ? 'debug' : level;
  const fn = logger[name] ?? logger.debug;
  return fn === undefined ? undefined : (m) => fn.call(logger, m);
}
