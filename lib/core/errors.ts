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
  constructor(readonly problems: readonly string[]) {
    super(`Invalid llm-rotate configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`);
  }
}

/** A secretRef could not be resolved. Names the key and the ref, never a value. */
export class SecretResolutionError extends LlmRotateError {
  constructor(
    readonly keyId: string,
    reason: string,
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
