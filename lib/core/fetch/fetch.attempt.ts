import { outcomeOf } from '../attempt/attempt-runner';
import type { AttemptEnd, LeasedAttempt } from '../attempt/attempt.interfaces';
import type { Call } from '../attempt/call';
import { CallCancelledError, ProviderTransportError } from '../errors';
import { Exchange, readText } from '../transport/http';
import { bodyTracker, type BodyTracker, type BodyVerdict } from './body-usage';
import type { CredentialedRequest } from './credentials';
import type { FetchHost } from './fetch-for.interfaces';
import type { OutgoingRequest } from './outgoing';
import { answerResponse, HeldBody, type BodyEnd, type BufferedAnswer } from './response';

/** What one attempt of a rotating fetch came to. */
export type FetchAttempt =
  /**
   * An answer for the client: a success whose body holds the lease until it is read (`held`; the attempt settles
   * then, and `finished` is called), a bodiless success, or the caller's own fault (settled, handed back untouched).
   */
  | { readonly kind: 'answer'; readonly response: Response; readonly held: boolean; readonly end?: AttemptEnd }
  /** The key failed (settled): rotate. `answer` is the upstream's error answer, kept in case it is the last one. */
  | { readonly kind: 'failed'; readonly end: AttemptEnd; readonly answer?: BufferedAnswer };

/**
 * The middle of a `fetchFor()` attempt, on the same path as chat's and stream's: the runner has leased the key and
 * resolved its secret; this places the key's credential in the client's request, sends it, and classifies the head of
 * the answer with the provider adapter's own rules (`classifyError`, `successCooldownUntil`), settling through the
 * runner. A rate limit, an auth failure or a transient error ends the attempt (the call rotates); a caller's fault
 * is handed back untouched; a success is handed back with its body held ({@link HeldBody}) and settles once the
 * client has read it to the end (with the tokens it showed), cancelled it, or the upstream broke it.
 */
export async function fetchAttempt(host: FetchHost, call: Call, at: LeasedAttempt, req: OutgoingRequest, finished: (end: AttemptEnd) => void): Promise<FetchAttempt> {
  const r = host.runner;
  const { key, adapter } = at;
  const provider = key.provider;
  let sent: CredentialedRequest;
  try {
    sent = await host.credentials.place(at, req);
  } catch (e) {
    return { kind: 'failed', end: await r.fail(call, at, e) };
  }
  const ex = new Exchange(provider, key.settings.timeoutMs, call.limits.signal);
  let res: Response;
  try {
    if (call.limits.signal?.aborted) throw new CallCancelledError();
    try {
      res = await fetch(sent.url, { ...req.extras, method: req.method, headers: sent.headers, body: req.body, signal: ex.signal });
    } catch (e) {
      throw ex.translate(e);
    }
  } catch (e) {
    ex.finish(false);
    return { kind: 'failed', end: await r.fail(call, at, e) };
  }
  if (!res.ok) {
    let text: string;
    try {
      text = await readText(ex, res);
    } catch (e) {
      ex.finish(false);
      return { kind: 'failed', end: await r.fail(call, at, e) };
    }
    ex.finish(false);
    const c = adapter.classifyError(res.status, res.headers, text, host.now());
    const end = await r.settle(call, at, outcomeOf(c), r.httpError(at, c));
    const answer: BufferedAnswer = { status: res.status, statusText: res.statusText, headers: res.headers, text: host.scrub(text), url: res.url };
    return c.kind === 'bad_request' ? { kind: 'answer', response: answerResponse(answer), held: false, end } : { kind: 'failed', end, answer };
  }
  const cooldownUntil = adapter.successCooldownUntil(res.headers, host.now());
  // The head is in: from here the body has its own deadline (per read the client asks for) and abort handling.
  ex.finish(false);
  if (res.body === null) {
    return { kind: 'answer', response: res, held: false, end: await r.settle(call, at, { kind: 'success', cooldownUntil }) };
  }
  if (call.limits.signal?.aborted) {
    res.body.cancel().catch(() => undefined);
    return { kind: 'failed', end: await r.settle(call, at, { kind: 'cancelled' }, new CallCancelledError()) };
  }
  const tracker = bodyTracker(res.headers.get('content-type'));
  const body = new HeldBody(res.body, provider, key.settings.timeoutMs, call.limits.signal, {
    chunk: tracker === undefined ? undefined : (bytes) => tracker.push(bytes),
    ended: async (e) => finished(await settleBody(host, call, at, e, tracker, cooldownUntil)),
  });
  return { kind: 'answer', response: body.wrap(res), held: true };
}

/** Settles a held body: its usage on success; an error event inside it, or an end its wire format does not allow, as failures. */
function settleBody(host: FetchHost, call: Call, at: LeasedAttempt, e: BodyEnd, tracker: BodyTracker | undefined, cooldownUntil: number | undefined): Promise<AttemptEnd> {
  const r = host.runner;
  const provider = at.key.provider;
  if (e.kind === 'error') return r.fail(call, at, e.error);
  let v: BodyVerdict | undefined;
  if (e.kind === 'cancelled') {
    // A client that stops reading at the stream's end marker had it all (the `openai` client breaks at `[DONE]`);
    // one that stops at an error event stopped because of the key's failure. Otherwise it cancelled an answer.
    v = tracker?.conclusive();
    if (v === undefined) return r.settle(call, at, { kind: 'cancelled' }, new CallCancelledError('The answer was cancelled before it was read to the end'));
  } else {
    v = tracker?.finish();
  }
  if (v?.error !== undefined) return r.settle(call, at, outcomeOf(v.error), r.httpError(at, v.error), v.usage);
  if (v?.incomplete !== undefined) {
    return r.settle(call, at, { kind: 'transient' }, new ProviderTransportError(provider, `${provider} answer is incomplete: ${v.incomplete}`, 'EMALFORMED'), v.usage);
  }
  return r.settle(call, at, { kind: 'success', cooldownUntil }, undefined, v?.usage);
}
