import { ProviderBadRequestError, UnsupportedFeatureError } from '../../../lib';
import { toGeminiBody } from '../../../lib/core/providers/gemini/gemini-request';
import { mapFinishReason, parseGeminiResponse } from '../../../lib/core/providers/gemini/gemini-response';
import { classifyGoogleError, classifyGoogleSdkError } from '../../../lib/core/providers/gemini/google-errors';
import { parseServiceAccount } from '../../../lib/core/providers/gemini/service-account';

const NOW = Date.UTC(2026, 0, 1);
const body = (status: string, code: number, message: string, details?: unknown[]): string => JSON.stringify({ error: { code, message, status, details } });

describe('Gemini wire format', () => {
  describe('classifyGoogleError', () => {
    it.each([
      [429, body('RESOURCE_EXHAUSTED', 429, 'quota'), 'rate_limit'],
      [400, body('INVALID_ARGUMENT', 400, 'bad temperature'), 'bad_request'],
      [400, body('FAILED_PRECONDITION', 400, 'User location is not supported'), 'bad_request'],
      [404, body('NOT_FOUND', 404, 'model not found'), 'bad_request'],
      [401, body('UNAUTHENTICATED', 401, 'no token'), 'auth'],
      [403, body('PERMISSION_DENIED', 403, 'denied'), 'auth'],
      [500, body('INTERNAL', 500, 'oops'), 'transient'],
      [503, body('UNAVAILABLE', 503, 'overloaded'), 'transient'],
      [504, body('DEADLINE_EXCEEDED', 504, 'slow'), 'transient'],
      [499, body('CANCELLED', 499, 'cancelled upstream'), 'transient'],
      // Reason beats status: a bad key is a 400 INVALID_ARGUMENT with ErrorInfo API_KEY_INVALID.
      [400, body('INVALID_ARGUMENT', 400, 'API key not valid. Please pass a valid API key.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }]), 'auth'],
      [400, body('INVALID_ARGUMENT', 400, 'API key expired. Please renew the API key.'), 'auth'],
      // One-element arrays (streamGenerateContent without alt=sse) and bodies that are not JSON at all.
      [429, `[${body('RESOURCE_EXHAUSTED', 429, 'quota')}]`, 'rate_limit'],
      [502, '<html>Bad Gateway</html>', 'transient'],
      [400, 'nonsense', 'bad_request'],
    ] as const)('%i %s → %s', (status, text, kind) => {
      expect(classifyGoogleError(status, new Headers(), text, NOW).kind).toBe(kind);
    });

    it('takes the wait from RetryInfo, else retry-after (seconds or a date), and only for rate limits', () => {
      const retryInfo = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.5s' }];
      expect(classifyGoogleError(429, new Headers({ 'retry-after': '9' }), body('RESOURCE_EXHAUSTED', 429, 'q', retryInfo), NOW).retryAfterMs).toBe(1500);
      expect(classifyGoogleError(429, new Headers({ 'retry-after': '9' }), body('RESOURCE_EXHAUSTED', 429, 'q'), NOW).retryAfterMs).toBe(9000);
      expect(classifyGoogleError(429, new Headers({ 'retry-after': new Date(NOW + 4000).toUTCString() }), body('RESOURCE_EXHAUSTED', 429, 'q'), NOW).retryAfterMs).toBe(4000);
      expect(classifyGoogleError(503, new Headers({ 'retry-after': '9' }), body('UNAVAILABLE', 503, 'busy', retryInfo), NOW).retryAfterMs).toBeUndefined();
    });

    it('keeps the RPC status in the message and a raw body whole (the engine scrubs it, then bounds it)', () => {
      expect(classifyGoogleError(400, new Headers(), body('INVALID_ARGUMENT', 400, 'bad'), NOW).message).toBe('INVALID_ARGUMENT: bad');
      expect(classifyGoogleError(502, new Headers(), 'x'.repeat(2000), NOW).message).toBe('x'.repeat(2000));
    });

    it('reads the body inside an @google/genai ApiError message and ignores other errors', () => {
      const apiError = Object.assign(new Error(body('INVALID_ARGUMENT', 400, 'API key not valid.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }])), { status: 400 });
      expect(classifyGoogleSdkError(apiError, NOW)).toMatchObject({ kind: 'auth', status: 400 });
      expect(classifyGoogleSdkError(new Error('socket hang up'), NOW)).toBeUndefined();
      expect(classifyGoogleSdkError('nope', NOW)).toBeUndefined();
    });
  });

  describe('toGeminiBody', () => {
    it('omits generationConfig and systemInstruction when there is nothing to send', () => {
      expect(toGeminiBody('google_ai_studio', { messages: [{ role: 'user', content: 'hi' }] })).toEqual({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
      expect(toGeminiBody('google_ai_studio', { messages: [{ role: 'user', content: 'hi' }], stop: [] }).generationConfig).toBeUndefined();
    });

    it('names the provider when only system text or empty turns are left', () => {
      expect(() => toGeminiBody('google_vertex', { messages: [{ role: 'system', content: 'x' }, { role: 'user', content: '' }] })).toThrow(UnsupportedFeatureError);
      expect(() => toGeminiBody('google_vertex', { messages: [{ role: 'user', content: [] }] })).toThrow(/^google_vertex does not support/);
    });
  });

  describe('parseGeminiResponse', () => {
    it('joins the first candidate\'s text parts, skipping thoughts, and reads usage', () => {
      const r = parseGeminiResponse('google_ai_studio', {
        candidates: [{ content: { role: 'model', parts: [{ text: 'plan', thought: true }, { text: 'a' }, { text: 'b' }] }, finishReason: 'STOP' }, { content: { parts: [{ text: 'other' }] } }],
        usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2, thoughtsTokenCount: 5 },
        modelVersion: 'gemini-2.0-flash-001',
      });
      expect(r).toEqual({ content: 'ab', finishReason: 'stop', usage: { inputTokens: 4, outputTokens: 7 }, model: 'gemini-2.0-flash-001' });
    });

    it('throws a bad request naming the provider for a blocked prompt; a body without candidates is malformed', () => {
      expect(() => parseGeminiResponse('google_vertex', { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } })).toThrow(ProviderBadRequestError);
      expect(() => parseGeminiResponse('google_vertex', { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } })).toThrow(/^google_vertex answered 200: the prompt was blocked \(blockReason PROHIBITED_CONTENT\)/);
      const malformed = expect.objectContaining({ name: 'ProviderTransportError', code: 'EMALFORMED' });
      expect(() => parseGeminiResponse('google_vertex', {})).toThrow(malformed);
      expect(() => parseGeminiResponse('google_vertex', [])).toThrow(malformed);
      expect(() => parseGeminiResponse('google_vertex', { candidates: [{ content: { parts: 'x' } }] })).toThrow(malformed);
    });

    it.each([
      ['STOP', 'stop'],
      ['MAX_TOKENS', 'length'],
      ['SAFETY', 'content_filter'],
      ['RECITATION', 'content_filter'],
      ['BLOCKLIST', 'content_filter'],
      ['PROHIBITED_CONTENT', 'content_filter'],
      ['SPII', 'content_filter'],
      ['MALFORMED_FUNCTION_CALL', 'other'],
      ['FINISH_REASON_UNSPECIFIED', 'other'],
      [undefined, undefined],
    ] as const)('finishReason %s → %s', (raw, mapped) => {
      expect(mapFinishReason(raw)).toBe(mapped);
    });
  });

  describe('parseServiceAccount', () => {
    it('reads the fields auth needs and refuses other credential types by name only', () => {
      const sa = parseServiceAccount('k', JSON.stringify({ type: 'service_account', client_email: 'a@p.iam.gserviceaccount.com', private_key: 'PEM', project_id: 'p', token_uri: 'https://t' }));
      expect(sa).toMatchObject({ clientEmail: 'a@p.iam.gserviceaccount.com', privateKey: 'PEM', projectId: 'p', tokenUri: 'https://t', privateKeyId: undefined });
      expect(() => parseServiceAccount('k', JSON.stringify({ type: 'authorized_user', refresh_token: 'secret-refresh' }))).toThrow('only "service_account" key files are supported');
      expect(() => parseServiceAccount('k', '["secret-value"]')).toThrow(/not a JSON object/);
      const err = (() => {
        try {
          parseServiceAccount('k', '{"private_key": "secret-value", ');
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      expect(err?.message).toBe('Cannot resolve the secret of key "k": the google_vertex secret is not valid JSON (expected a service-account key file)');
    });
  });
});
