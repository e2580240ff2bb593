import type { AttemptEnd, LeasedAttempt } from '../attempt/attempt.interfaces';
import type { Call } from '../attempt/call';
import { MAX_TIMER_MS } from '../config/bounds';
import { CallCancelledError, ConfigurationError, InvalidRequestError, NoAvailableKeyError, UnknownModelError } from '../errors';
import { PROVIDERS, type ProviderName } from '../types';
import { synthesizedAnswer } from './error-answers';
import { fetchAttempt } from './fetch.attempt';
import type { FetchForOptions, FetchHost, RotatingFetch } from './fetch-for.interfaces';
import { readOutgoing } from './outgoing';
import { requestModel } from './request-model';
import { abortReason, answerResponse, type BufferedAnswer } from './response';

/**
 * `fetchFor(provider, opts)`: a `fetch` for the official clients and the AI SDKs that rotates keys. Each request is one
 * call on the engine's attempt path (`AttemptRunner.leases` → {@link fetchAttempt} → `settle`), like `chat()`:
 *
 * 1. The request is read once (its body kept in memory, so it can be sent again) and its model found (the JSON body's
 *    `model`, the model in a Gemini / Vertex / Bedrock / Azure-deployment URL, a multipart `model` field, else
 *    `opts.model`); keys are restricted to those serving it, else any key of the provider serves.
 * 2. Each attempt leases a key and sends the client's request (its URL, method, headers and body) with that key's
 *    credential in place of the client's placeholder. A rate limit, an auth failure or a transient error is settled
 *    against the key and the request goes to the next key, transparently; a caller's fault (400, 404, 413, 422) is
 *    handed back untouched and never counts against the key.
 * 3. A success is handed back at once, its body held: the lease ends when the client has read it to the end (settled
 *    as success with the tokens the body showed), cancelled it or aborted its signal (cancelled, not the key's fault),
 *    or when it broke (a transient failure of the key).
 * 4. When no key is left: the last error answer with `Retry-After` set to the soonest key's return (or a synthesized
 *    429 / 503 in the provider's error format when no attempt could be made), or, with `onExhausted: 'throw'`, the
 *    library's `NoAvailableKeyError` / `AllKeysExhaustedError`.
 *
 * The client's URL is kept as it built it: a key's `baseUrl` is not applied (the client owns routing).
 */
export function createFetchFor(host: FetchHost, provider: ProviderName, opts: FetchForOptions = {}): RotatingFetch {
  checkOptions(provider, opts);
  const onExhausted = opts.onExhausted ?? 'response';
  return async function rotatingFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    // `data:` and `blob:` URLs reach no provider (the `openai` client probes `fetch('data:,')`): nothing to rotate.
    if (isLocalUrl(input)) return fetch(input, init);
    host.enter();
    let leave = true;
    try {
      const req = await readOutgoing(input, init);
      const rt = await host.runtime();
      const model = requestModel(provider, req, rt.config.providers.get(provider)) ?? opts.model;
      const list = rt.planner.forProvider(provider, model);
      if (list.items.length === 0) {
        if (model === undefined || rt.planner.forProvider(provider, undefined).items.length === 0) throw noKeyOf(provider);
        const err = new UnknownModelError(model, rt.planner.whyUnserved(model, provider), provider);
        if (onExhausted === 'throw') throw err;
        return synthesizedAnswer(provider, 'not_found', host.scrub(err.message), undefined);
      }
      const call = host.begin(model ?? '', provider, { signal: req.signal, maxWaitMs: opts.maxWaitMs });
      let last: BufferedAnswer | undefined;
      try {
        for await (const at of host.runner.leases(rt, call, [{ model: model ?? '', list }])) {
          const a = await fetchAttempt(host, call, at, req, (end) => {
            ended(call, at, end);
            host.leave();
          });
          if (a.kind === 'answer') {
            if (a.held) leave = false;
            else if (a.end !== undefined) ended(call, at, a.end);
            return a.response;
          }
          if (a.end.outcome.kind === 'cancelled') throw a.end.error ?? new CallCancelledError();
          call.failedWith(at.key.keyId, a.end.error);
          if (a.answer !== undefined) last = a.answer;
        }
        throw call.exhausted();
      } catch (e) {
        host.failed(call, e);
        if (e instanceof CallCancelledError) throw abortReason(req.signal);
        if (e instanceof NoAvailableKeyError && onExhausted === 'response') {
          if (last !== undefined) return answerResponse(last, e.retryAfterMs);
          return synthesizedAnswer(provider, e.retryAfterMs !== undefined ? 'rate_limit' : 'unavailable', host.scrub(e.message), e.retryAfterMs);
        }
        throw e;
      }
    } finally {
      if (leave) host.leave();
    }
  };
}

/** The call's end for the observers, once the answer handed back is settled. */
function ended(call: Call, at: LeasedAttempt, end: AttemptEnd): void {
  call.obs?.callEnded({
    outcome: end.outcome.kind,
    error: end.error,
    keyId: at.key.keyId,
    provider: at.key.provider,
    model: at.step.model,
    usage: end.usage,
    attempts: call.attempts.length,
  });
}

const OTHER_SCHEME = /^(?!https?:)[a-z][a-z0-9+.-]*:/i;

function isLocalUrl(input: string | URL | Request): boolean {
  return OTHER_SCHEME.test(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
}

function noKeyOf(provider: ProviderName): ConfigurationError {
  return new ConfigurationError([`fetchFor("${provider}"): no used key has provider "${provider}"`], `No configured key of provider "${provider}" is in useKeys`);
}

/** Bad arguments are the caller's to fix: each names the field and the problem. */
function checkOptions(provider: ProviderName, opts: FetchForOptions): void {
  if (!(PROVIDERS as readonly string[]).includes(provider)) {
    throw new InvalidRequestError(`fetchFor(provider): "${String(provider)}" is not a provider (use one of ${PROVIDERS.join(', ')})`);
  }
  if (typeof opts !== 'object' || opts === null) throw new InvalidRequestError('fetchFor(provider, opts): opts must be an object');
  if (opts.model !== undefined && (typeof opts.model !== 'string' || opts.model === '')) throw new InvalidRequestError('fetchFor opts.model: must be a non-empty string');
  if (opts.maxWaitMs !== undefined && !(typeof opts.maxWaitMs === 'number' && Number.isFinite(opts.maxWaitMs) && opts.maxWaitMs >= 0 && opts.maxWaitMs <= MAX_TIMER_MS)) {
    throw new InvalidRequestError(`fetchFor opts.maxWaitMs: must be a number of milliseconds from 0 to ${MAX_TIMER_MS}`);
  }
  if (opts.onExhausted !== undefined && opts.onExhausted !== 'response' && opts.onExhausted !== 'throw') {
    throw new InvalidRequestError(`fetchFor opts.onExhausted: must be 'response' or 'throw', not ${JSON.stringify(opts.onExhausted)}`);
  }
}
