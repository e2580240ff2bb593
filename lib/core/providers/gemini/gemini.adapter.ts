import type { Exchange, HttpRequest } from '../../transport/http';
import type { ProviderName } from '../../types';
import type { CallTarget, ClassifiedError, ParsedResult, ProviderAdapter, StreamDelta, UnifiedRequest } from '../provider.interfaces';
import { toGeminiBody } from './gemini-request';
import { parseGeminiResponse, readGeminiStream } from './gemini-response';
import { classifyGoogleError } from './google-errors';

/** Where and how one Gemini-speaking service is called: the URL of a model method and its auth headers. */
export interface GeminiEndpoint {
  readonly provider: ProviderName;
  readonly defaultBaseUrl: string;
  /** `method` is `generateContent` or `streamGenerateContent?alt=sse`. */
  locate(t: CallTarget, method: string): { url: string; headers: Record<string, string> } | Promise<{ url: string; headers: Record<string, string> }>;
}

/**
 * The Gemini `generateContent` wire format behind one adapter: Google AI Studio (API key) and Vertex AI
 * (service-account OAuth) differ only in their {@link GeminiEndpoint}.
 */
export class GeminiAdapter implements ProviderAdapter {
  readonly provider: ProviderName;
  readonly defaultBaseUrl: string;

  constructor(private readonly endpoint: GeminiEndpoint) {
    this.provider = endpoint.provider;
    this.defaultBaseUrl = endpoint.defaultBaseUrl;
  }

  buildRequest(t: CallTarget, req: UnifiedRequest, stream: boolean): HttpRequest | Promise<HttpRequest> {
    const body = JSON.stringify(toGeminiBody(this.provider, req));
    const where = this.endpoint.locate(t, stream ? 'streamGenerateContent?alt=sse' : 'generateContent');
    return where instanceof Promise ? where.then((w) => withBody(w, t, body, stream)) : withBody(where, t, body, stream);
  }

  parseResponse(body: unknown): ParsedResult {
    return parseGeminiResponse(this.provider, body);
  }

  readStream(ex: Exchange, res: Response): AsyncIterable<StreamDelta> {
    return readGeminiStream(ex, res, this.provider);
  }

  classifyError(status: number, headers: Headers, body: string, now: number): ClassifiedError {
    return classifyGoogleError(status, headers, body, now);
  }

  /** Gemini sends no remaining-quota headers on successful answers. */
  successCooldownUntil(): undefined {
    return undefined;
  }
}

function withBody(w: { url: string; headers: Record<string, string> }, t: CallTarget, body: string, stream: boolean): HttpRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...t.settings.headers, ...w.headers };
  if (stream) headers.accept = 'text/event-stream';
  return { url: w.url, headers, body };
}

export function trimSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}
