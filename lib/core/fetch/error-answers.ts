import type { ProviderName } from '../types';
import { setRetryAfter } from './response';

/** What a synthesized answer says: no key now (429), none will come back by itself (503), or an unserved model (404). */
export type SynthesizedKind = 'rate_limit' | 'unavailable' | 'not_found';

const STATUS: Readonly<Record<SynthesizedKind, number>> = { rate_limit: 429, unavailable: 503, not_found: 404 };

/**
 * An error answer the library makes itself, in the provider's own error format so that the client raises its usual
 * error class (`RateLimitError`, `APICallError`, …) and its retry logic honours `Retry-After`. Marked with
 * `x-llm-rotate: <kind>`; the message is the library's (scrubbed) explanation.
 */
export function synthesizedAnswer(provider: ProviderName, kind: SynthesizedKind, message: string, retryAfterMs: number | undefined): Response {
  const status = STATUS[kind];
  const headers = new Headers({ 'content-type': 'application/json', 'x-llm-rotate': kind });
  if (retryAfterMs !== undefined && kind !== 'not_found') setRetryAfter(headers, retryAfterMs);
  let body: unknown;
  switch (provider) {
    case 'anthropic':
      body = { type: 'error', error: { type: kind === 'rate_limit' ? 'rate_limit_error' : kind === 'not_found' ? 'not_found_error' : 'api_error', message } };
      break;
    case 'google_ai_studio':
    case 'google_vertex':
      body = { error: { code: status, message, status: kind === 'rate_limit' ? 'RESOURCE_EXHAUSTED' : kind === 'not_found' ? 'NOT_FOUND' : 'UNAVAILABLE' } };
      break;
    case 'bedrock': {
      const type = kind === 'rate_limit' ? 'ThrottlingException' : kind === 'not_found' ? 'ResourceNotFoundException' : 'ServiceUnavailableException';
      headers.set('x-amzn-errortype', type);
      body = { message };
      break;
    }
    default:
      body = {
        error: {
          message,
          type: kind === 'rate_limit' ? 'rate_limit_error' : kind === 'not_found' ? 'invalid_request_error' : 'server_error',
          param: null,
          code: kind === 'rate_limit' ? 'no_available_key' : kind === 'not_found' ? 'model_not_found' : 'no_available_key',
        },
      };
  }
  return new Response(JSON.stringify(body), { status, headers });
}
