import { inspect } from 'node:util';
import type { ExplicitErrorReport } from './classify';
import type { Outcome } from './health/health.interfaces';
import type { LeasedAttempt } from './attempt/attempt.interfaces';
import type { Call } from './attempt/call';
import type { AttemptOutcome, ProviderName, Usage } from './types';

/** A lent key as the engine tracks it: the acquire call and its open attempt. */
export interface LentKey {
  readonly call: Call;
  readonly at: LeasedAttempt;
}

/** The engine's side of a lent key. */
export interface LeaseOwner {
  settle(ctx: AcquireContext, lent: LentKey, outcome: Outcome | null, usage: Usage | undefined, error: unknown): Promise<void>;
  classify(error: unknown): Outcome;
}

/**
 * A key lent for a direct vendor SDK call (SPEC §1). Report once (`reportSuccess` / `reportError`) or
 * `release()`; `await using` releases it for you. A context nobody settles frees its slot when the lease TTL ends.
 * `keyValue` is readable, but JSON and `util.inspect` of the context never show it.
 */
export class AcquireContext implements AsyncDisposable {
  readonly #secret: string;
  readonly #lent: LentKey;
  readonly #owner: LeaseOwner;
  #settled = false;

  constructor(
    owner: LeaseOwner,
    lent: LentKey,
    secret: string,
    readonly provider: ProviderName,
    readonly keyId: string,
    readonly model: string | undefined,
    readonly metadata: Readonly<Record<string, unknown>>,
    readonly baseUrl: string | undefined,
  ) {
    this.#owner = owner;
    this.#lent = lent;
    this.#secret = secret;
  }

  /** The resolved secret (an API key, or a JSON credential for google_vertex / bedrock). */
  get keyValue(): string {
    return this.#secret;
  }

  /** True once reported or released. */
  get settled(): boolean {
    return this.#settled;
  }

  /** When the lease ends on its own if nobody settles it (epoch ms). */
  get leaseExpiresAt(): number {
    return this.#lent.at.lease.expiresAt;
  }

  async reportSuccess(usage?: Usage): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    await this.#owner.settle(this, this.#lent, { kind: 'success' }, usage, undefined);
  }

  /** Classifies the error (vendor SDK errors, Responses, network errors, or `{ kind }`) and feeds the health machine. */
  async reportError(error: unknown): Promise<AttemptOutcome> {
    const outcome = this.#owner.classify(error);
    if (this.#settled) return outcome.kind;
    this.#settled = true;
    await this.#owner.settle(this, this.#lent, outcome, undefined, error);
    return outcome.kind;
  }

  /** Gives the key back without an outcome. */
  async release(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    await this.#owner.settle(this, this.#lent, null, undefined, undefined);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  toJSON(): Record<string, unknown> {
    return { provider: this.provider, keyId: this.keyId, model: this.model, settled: this.#settled };
  }

  [inspect.custom](): string {
    return `AcquireContext ${inspect(this.toJSON())}`;
  }
}

export type { ExplicitErrorReport };
