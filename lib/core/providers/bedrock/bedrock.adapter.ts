import { expectStream, type Exchange, type HttpRequest } from '../../transport/http';
import type { CallTarget, ClassifiedError, ParsedResult, ProviderAdapter, StreamDelta, UnifiedRequest } from '../provider.interfaces';
import { missingRegion, parseBedrockSecret, regionFromHost, regionOf, signSigV4 } from './bedrock-auth';
import { classifyBedrockError } from './bedrock-errors';
import { readConverseStream } from './bedrock-event-stream';
import { fromConverseResponse, toConverseRequest } from './bedrock-mapping';

/** `{region}` is filled from the key's `metadata.region` / the provider's `region` or `location`. */
export const BEDROCK_DEFAULT_BASE_URL = 'https://bedrock-runtime.{region}.amazonaws.com';

/**
 * AWS Bedrock Runtime's Converse / ConverseStream API. Auth per key: a Bedrock API key (`Authorization: Bearer`)
 * or AWS credentials as JSON, signed with SigV4 by `@smithy/signature-v4` (loaded on first use).
 * Streams are AWS event-stream frames, decoded by `@smithy/eventstream-codec` (loaded on first use).
 */
export class BedrockAdapter implements ProviderAdapter {
  readonly provider = 'bedrock' as const;
  readonly defaultBaseUrl = BEDROCK_DEFAULT_BASE_URL;

  async buildRequest(t: CallTarget, req: UnifiedRequest, stream: boolean): Promise<HttpRequest> {
    // The caller's mistakes first: they are not the key's fault, whatever the key is.
    const body = JSON.stringify(toConverseRequest(req));
    const auth = parseBedrockSecret(t.keyId, t.secret);
    const region = regionOf(t);
    let base = t.baseUrl.endsWith('/') ? t.baseUrl.slice(0, -1) : t.baseUrl;
    if (base.includes('{region}')) {
      if (region === undefined) throw missingRegion(t.keyId, 'to build its endpoint URL');
      base = base.split('{region}').join(region);
    }
    const url = `${base}/model/${encodeModelId(t.model)}/${stream ? 'converse-stream' : 'converse'}`;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(t.settings.headers)) headers[k.toLowerCase()] = v;
    headers['content-type'] = 'application/json';
    if (auth.kind === 'bearer') {
      headers.authorization = `Bearer ${auth.token}`;
      return { url, headers, body };
    }
    const parsed = new URL(url);
    const signingRegion = region ?? regionFromHost(parsed.hostname);
    if (signingRegion === undefined) throw missingRegion(t.keyId, 'to sign requests with SigV4');
    return { url, headers: await signSigV4(parsed, headers, body, auth.credentials, signingRegion), body };
  }

  parseResponse(body: unknown): ParsedResult {
    return fromConverseResponse(body);
  }

  async *readStream(ex: Exchange, res: Response): AsyncIterable<StreamDelta> {
    yield* readConverseStream(ex, await expectStream(ex, res));
  }

  classifyError(status: number, headers: Headers, body: string, now: number): ClassifiedError {
    return classifyBedrockError(status, headers, body, now);
  }

  /** Bedrock sends no remaining-quota headers on successful answers. */
  successCooldownUntil(): number | undefined {
    return undefined;
  }

  /**
   * Start-up checks (for the engine's configuration validation): a key on the default endpoint needs a region.
   * Returns the problems, each naming the key.
   */
  configProblems(key: Pick<CallTarget, 'keyId' | 'baseUrl' | 'settings' | 'metadata'>): string[] {
    if (key.baseUrl.includes('{region}') && regionOf(key) === undefined) {
      return [`registry.keys(${key.keyId}): bedrock needs an AWS region; set metadata.region on the key or registry.providers.bedrock.region`];
    }
    return [];
  }
}

/**
 * The model id as one path segment, encoded the way the AWS SDK does (RFC 3986: `encodeURIComponent` plus
 * `!'()*`), so `anthropic.claude-3-haiku-20240307-v1:0` is sent as `…-v1%3A0` and inference-profile ARNs keep
 * their `/` inside the segment. SigV4 signs this encoded path (and double-encodes it in the canonical request).
 */
export function encodeModelId(model: string): string {
  return encodeURIComponent(model).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
