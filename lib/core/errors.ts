import type { Attempt, ErrorKind, ProviderName } from './types';

/** Base class of every error this library throws. Messages never carry a secret. */
export class LlmRotateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad options: `problems` names every problem by path (`registry.keys[1].provider: ...`). */
export class ConfigurationError extends LlmRotateError {
  /** `message`: a call-time configuration problem's own sentence (default: the list of problems). */
  constructor(
    readonly problems: readonly string[],
    message?: string,
  ) {
    super(message ?? `Invalid llm-rotate configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`);
  }
}

/** A secretRef could not be resolved. Names the key and the ref, never a value. */
export class SecretResolutionError extends LlmRotateError {
  constructor(
    readonly keyId: string,
    /** Why, as given (it may name the ref, never a value). */
    readonly reason: string,
  ) {
    super(`Cannot resolve the secret of key "${keyId}": ${reason}`);
  }
}

/** No key can serve the request right now; `retryAfterMs` says when the soonest one comes back (if known). */
export class NoAvailableKeyError extends LlmRotateError {
  constructor(
    message: string,
    readonly attempts: readonly Attempt[],
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

/** Every candidate key (and every fallback) was tried and failed, or is unavailable. */
export class AllKeysExhaustedError extends NoAvailableKeyError {}

/** An upstream answered with an error. `message` is scrubbed of secrets. */
export class ProviderHttpError extends LlmRotateError {
  constructor(
    readonly provider: ProviderName,
    readonly status: number,
    readonly kind: ErrorKind,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The caller's fault (400/404/422, context too long): not retried on another key. */
export class ProviderBadRequestError extends ProviderHttpError {}

/** The upstream did not answer within the provider's `timeoutMs`. */
export class ProviderTimeoutError extends LlmRotateError {
  constructor(
    readonly provider: ProviderName,
    readonly timeoutMs: number,
  ) {
    super(`${provider} did not answer within ${timeoutMs} ms`);
  }
}

/** The connection failed or the answer could not be read (reset, refused, malformed body). */
export class ProviderTransportError extends LlmRotateError {
  constructor(
    readonly provider: ProviderName,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A request uses something the provider cannot do (e.g. a role it has no mapping for). */
export class UnsupportedFeatureError extends LlmRotateError {
  constructor(
    readonly provider: ProviderName,
    feature: string,
  ) {
    super(`${provider} does not support ${feature}`);
  }
}

/** The caller aborted (its AbortSignal). Never counted against a key. */
export class CallCancelledError extends LlmRotateError {
  constructor(message = 'The call was cancelled by its caller') {
    super(message);
  }
}

/** Methods called after `close()`. */
export class ClosedError extends LlmRotateError {
  constructor() {
    super('This LlmRotate instance is closed');
  }
}

/** The call's own arguments are wrong (empty messages, an unknown role): fix the call, not the keys. */
export class InvalidRequestError extends LlmRotateError {}

/**
 * A stream failed after its first chunk was yielded (cut short, an upstream error event, a malformed event, a
 * deadline): the caller already has part of the answer, so there is no failover. The original's
 * `stream_interrupted`. `kind` is how the failure counted against the key; `cause` is the underlying error.
 */
export class StreamInterruptedError extends LlmRotateError {
  constructor(
    readonly provider: ProviderName,
    readonly keyId: string,
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/**
 * A model no used key serves (its provider cannot be inferred and it has no fallback chain, or no key of the
 * inferred or named provider serves it): a configuration problem that another try will not fix, not an outage.
 * Names the model (and the provider when the call named one).
 */
export class UnknownModelError extends ConfigurationError {
  constructor(
    readonly model: string,
    detail: string,
    readonly provider?: ProviderName,
  ) {
    super([`model "${model}"${provider ? ` (provider "${provider}")` : ''}: ${detail}`], `No configured key serves model "${model}"${provider ? ` on provider "${provider}"` : ''}: ${detail}`);
  }
}

/**
 * The request could not even be built locally (an invalid URL or header, a credential that cannot be parsed):
 * nothing reached the upstream, so it never counts against the key's health.
 */
export class RequestBuildError extends LlmRotateError {
  constructor(
    readonly provider: ProviderName,
    message: string,
  ) {
    super(message);
  }
}
