import { boundMessage, errorMessageOf, kindOfStatus, parseDuration, retryAfterMs } from '../../lib/core/providers/http-errors';

describe('HTTP error helpers', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it.each([
    [429, 'rate_limit'],
    [401, 'auth'],
    [402, 'auth'],
    [403, 'auth'],
    [500, 'transient'],
    [502, 'transient'],
    [503, 'transient'],
    [529, 'transient'],
    [408, 'transient'],
    [400, 'bad_request'],
    [404, 'bad_request'],
    [413, 'bad_request'],
    [422, 'bad_request'],
  ])('status %i is %s', (status, kind) => expect(kindOfStatus(status)).toBe(kind));

  it('retry-after: seconds, HTTP date, retry-after-ms first, garbage ignored', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '12' }), now)).toBe(12_000);
    expect(retryAfterMs(new Headers({ 'retry-after': '1.5' }), now)).toBe(1500);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(now + 65_000).toUTCString() }), now)).toBe(65_000);
    expect(retryAfterMs(new Headers({ 'retry-after': new Date(now - 5_000).toUTCString() }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
  });

  it('parses OpenAI reset durations', () => {
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('6m0s')).toBe(360_000);
    expect(parseDuration('20ms')).toBe(20);
    expect(parseDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseDuration('17')).toBe(17_000);
    expect(parseDuration('later')).toBeUndefined();
    expect(parseDuration(null)).toBeUndefined();
  });

  it('pulls the message out of vendor error bodies', () => {
    expect(errorMessageOf('{"error":{"message":"nope","type":"x"}}')).toBe('nope');
    expect(errorMessageOf('[{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]')).toBe('quota');
    expect(errorMessageOf('{"message":"ThrottlingException"}')).toBe('ThrottlingException');
    expect(errorMessageOf('<html>bad gateway</html>')).toBe('<html>bad gateway</html>');
    // Never cut here: cutting before the engine scrubs would leave part of an echoed key.
    expect(errorMessageOf('x'.repeat(600))).toBe('x'.repeat(600));
    expect(errorMessageOf('null')).toBe('null');
    expect(errorMessageOf('[]')).toBe('[]');
    expect(errorMessageOf('{"error":{"message":42}}')).toBe('{"error":{"message":42}}');
  });

  it('boundMessage cuts a scrubbed message to 500 characters (or the given maximum), never inside a surrogate pair', () => {
    expect(boundMessage('short')).toBe('short');
    expect(boundMessage('x'.repeat(500))).toBe('x'.repeat(500));
    expect(boundMessage('x'.repeat(10_000_000))).toBe(`${'x'.repeat(500)}…`);
    expect(boundMessage('abcdef', 3)).toBe('abc…');
    expect(boundMessage(`${'x'.repeat(499)}😀tail`)).toBe(`${'x'.repeat(499)}…`);
  });

  it('scrub first, then bound: a key echoed across offset 500 leaves none of its characters', () => {
    const secret = 'sk-proj-0123456789abcdefghijklmnopqrstuv';
    const body = `${'e'.repeat(480)}${secret}${'e'.repeat(100)}`;
    const scrubbed = errorMessageOf(body).split(secret).join('***');
    const out = boundMessage(scrubbed);
    expect(out).toBe(`${'e'.repeat(480)}***${'e'.repeat(17)}…`);
    for (let i = 0; i + 6 <= secret.length; i++) expect(out.includes(secret.slice(i, i + 6))).toBe(false);
  });
});
