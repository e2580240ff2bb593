import {
  CallCancelledError,
  ClosedError,
  InvalidRequestError,
  LlmRotateError,
  NoAvailableKeyError,
  ProviderBadRequestError,
  ProviderHttpError,
  ProviderTimeoutError,
  ProviderTransportError,
  UnsupportedFeatureError,
} from '../../lib';

/** An HTTP answer for a library error: status, extra headers and a JSON body. */
export interface HttpErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Maps the library's typed errors to HTTP. Library messages never carry a secret (upstream texts are scrubbed),
 * so they can be shown; attempts are listed by key id.
 * - the caller's fault (`ProviderBadRequestError`, `InvalidRequestError`, `UnsupportedFeatureError`): 400;
 * - no key now (`NoAvailableKeyError`, `AllKeysExhaustedError`): 503 with `Retry-After` when the soonest key is known;
 * - an upstream failing mid-stream: 502, or 504 for a timeout.
 */
export function httpErrorOf(e: LlmRotateError): HttpErrorAnswer {
  if (e instanceof ProviderBadRequestError) return answer(400, e.message, { provider: e.provider, upstreamStatus: e.status });
  if (e instanceof InvalidRequestError || e instanceof UnsupportedFeatureError) return answer(400, e.message);
  if (e instanceof NoAvailableKeyError) {
    const a = answer(503, e.message, {
      retryAfterMs: e.retryAfterMs ?? null,
      attempts: e.attempts.map((t) => ({ keyId: t.keyId, provider: t.provider, model: t.model, outcome: t.outcome, status: t.status, errorClass: t.errorClass })),
    });
    if (e.retryAfterMs !== undefined) a.headers['Retry-After'] = String(Math.max(1, Math.ceil(e.retryAfterMs / 1000)));
    return a;
  }
  if (e instanceof ProviderTimeoutError) return answer(504, e.message, { provider: e.provider });
  if (e instanceof ProviderHttpError) return answer(502, e.message, { provider: e.provider, upstreamStatus: e.status, kind: e.kind });
  if (e instanceof ProviderTransportError) return answer(502, e.message, { provider: e.provider });
  if (e instanceof CallCancelledError) return answer(499, e.message);
  if (e instanceof ClosedError) return answer(503, 'The service is shutting down');
  return answer(500, e.message);
}

function answer(status: number, message: string, extra: Record<string, unknown> = {}): HttpErrorAnswer {
  return { status, headers: {}, body: { statusCode: status, error: REASONS[status] ?? 'Error', message, ...extra } };
}
