import { classifyThrown } from '../../lib/core/classify';
import { CallCancelledError, ProviderHttpError, ProviderTimeoutError } from '../../lib';

describe('classifyThrown: what users catch around vendor SDK calls', () => {
  const now = Date.UTC(2026, 0, 1);
  const c = (e: unknown) => classifyThrown(e, now);

  it('explicit reports', () => {
    expect(c({ kind: 'rate_limit', retryAfterMs: 5000 })).toEqual({ kind: 'rate_limit', retryAfterMs: 5000 });
    expect(c({ kind: 'bad_request' })).toEqual({ kind: 'bad_request', retryAfterMs: undefined });
  });

  it('errors with a status in status / statusCode / $metadata.httpStatusCode / response.status', () => {
    expect(c(Object.assign(new Error('x'), { status: 429, headers: { 'retry-after': '3' } }))).toEqual({ kind: 'rate_limit', retryAfterMs: 3000 });
    expect(c(Object.assign(new Error('x'), { statusCode: 401 }))).toEqual({ kind: 'auth' });
    expect(c(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }))).toEqual({ kind: 'transient' });
    expect(c(Object.assign(new Error('x'), { response: { status: 422, headers: new Headers() } }))).toEqual({ kind: 'bad_request' });
  });

  it('AWS SDK error names without a status', () => {
    expect(c(Object.assign(new Error('Too many'), { name: 'ThrottlingException' }))).toEqual({ kind: 'rate_limit' });
    expect(c(Object.assign(new Error('no'), { name: 'AccessDeniedException' }))).toEqual({ kind: 'auth' });
    expect(c(Object.assign(new Error('bad'), { name: 'ValidationException' }))).toEqual({ kind: 'bad_request' });
    expect(c(Object.assign(new Error('down'), { name: 'ServiceUnavailableException' }))).toEqual({ kind: 'transient' });
  });

  it('Google RPC statuses, also inside a message', () => {
    expect(c(Object.assign(new Error('x'), { status: 'RESOURCE_EXHAUSTED' }))).toEqual({ kind: 'rate_limit' });
    expect(c(new Error('got status: RESOURCE_EXHAUSTED from the API'))).toEqual({ kind: 'rate_limit' });
    expect(c(Object.assign(new Error('x'), { status: 400, message: '{"error":{"status":"RESOURCE_EXHAUSTED"}}' }))).toEqual({ kind: 'rate_limit' });
    expect(c(new Error('PERMISSION_DENIED: caller lacks'))).toEqual({ kind: 'auth' });
  });

  it('network errors, timeouts and aborts', () => {
    expect(c(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toEqual({ kind: 'transient' });
    expect(c(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }))).toEqual({ kind: 'transient' });
    expect(c(new DOMException('The operation timed out', 'TimeoutError'))).toEqual({ kind: 'transient' });
    expect(c(new DOMException('aborted', 'AbortError'))).toEqual({ kind: 'cancelled' });
  });

  it('a 429 without retry-after waits for the vendor window reset headers', () => {
    expect(c(Object.assign(new Error('x'), { status: 429, headers: new Headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '6m0s' }) }))).toEqual({
      kind: 'rate_limit',
      retryAfterMs: 360_000,
    });
    const reset = new Date(now + 42_000).toISOString();
    expect(c(Object.assign(new Error('x'), { status: 429, headers: { 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': reset } }))).toEqual({
      kind: 'rate_limit',
      retryAfterMs: 42_000,
    });
  });

  it('vendor error types decide when there is no status (SDK stream error events)', () => {
    expect(c(Object.assign(new Error('x'), { error: { type: 'error', error: { type: 'overloaded_error' } } }))).toEqual({ kind: 'transient' });
    expect(c(Object.assign(new Error('x'), { error: { type: 'rate_limit_error' } }))).toEqual({ kind: 'rate_limit' });
    expect(c(Object.assign(new Error('x'), { type: 'authentication_error' }))).toEqual({ kind: 'auth' });
  });

  it("the library's own errors keep their class", () => {
    expect(c(new ProviderHttpError('openai', 429, 'rate_limit', 'x', 700))).toEqual({ kind: 'rate_limit', retryAfterMs: 700 });
    expect(c(new ProviderTimeoutError('openai', 10))).toEqual({ kind: 'transient' });
    expect(c(new CallCancelledError())).toEqual({ kind: 'cancelled' });
  });

  it('anything else counts as a transient failure of the key', () => {
    expect(c(new Error('weird'))).toEqual({ kind: 'transient' });
    expect(c('a string')).toEqual({ kind: 'transient' });
    expect(c(undefined)).toEqual({ kind: 'transient' });
  });
});
