import type { LeasedAttempt } from '../attempt/attempt.interfaces';
import { missingRegion, parseBedrockSecret, regionFromHost, regionOf, signSigV4 } from '../providers/bedrock/bedrock-auth';
import { VertexAuth } from '../providers/gemini/vertex-auth';
import type { ProviderName } from '../types';
import type { OutgoingRequest } from './outgoing';

/** One attempt's request: the client's, with the leased key's credential in place of whatever the client sent. */
export interface CredentialedRequest {
  readonly url: string;
  readonly headers: Headers;
}

/**
 * Every header a client may have put a credential (or a placeholder such as `apiKey: 'managed'`) in, and the headers
 * the platform computes itself; all are removed before the leased key's credential is placed.
 */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'];
const COMPUTED_HEADERS = ['content-length', 'host', 'connection', 'keep-alive', 'transfer-encoding'];
/** `Credential=AKID/20250101/us-east-1/bedrock/aws4_request` of a client's own SigV4 signature. */
const SCOPE_REGION = /Credential=[^/]+\/\d{8}\/([^/]+)\//;

/**
 * Puts a leased key's credential where its provider expects it, one function per provider:
 *
 * | provider | credential |
 * |---|---|
 * | openai, openrouter | `Authorization: Bearer <key>` |
 * | azure_openai | `api-key: <key>` |
 * | anthropic | `x-api-key: <key>` |
 * | google_ai_studio | `x-goog-api-key: <key>`; a `?key=` in the URL is removed (a key never travels in a URL) |
 * | google_vertex | `Authorization: Bearer <OAuth token>` minted from the key's service account (`x-goog-user-project` when the file names a quota project) |
 * | bedrock | a Bedrock API key as `Authorization: Bearer`, or the request re-signed with SigV4 for the key's AWS credentials |
 *
 * The client's URL is kept (the client owns routing): a key's `baseUrl` is not applied. The provider's configured
 * `headers` are added where the client did not set them. One instance per engine: it keeps Vertex AI's token cache.
 */
export class FetchCredentials {
  private vertexAuth: VertexAuth | undefined;

  async place(at: LeasedAttempt, req: OutgoingRequest): Promise<CredentialedRequest> {
    const { target } = at;
    const headers = new Headers(req.headers);
    const clientAuthorization = headers.get('authorization');
    for (const h of CREDENTIAL_HEADERS) headers.delete(h);
    for (const h of COMPUTED_HEADERS) headers.delete(h);
    for (const [k, v] of Object.entries(target.settings.headers)) if (!headers.has(k)) headers.set(k, v);
    let url = req.url;
    const secret = target.secret;
    switch (target.provider as ProviderName) {
      case 'openai':
      case 'openrouter':
        headers.set('authorization', `Bearer ${secret}`);
        break;
      case 'azure_openai':
        headers.set('api-key', secret);
        break;
      case 'anthropic':
        headers.set('x-api-key', secret);
        break;
      case 'google_ai_studio':
        if (url.searchParams.has('key')) {
          url = new URL(url.href);
          url.searchParams.delete('key');
        }
        headers.set('x-goog-api-key', secret);
        break;
      case 'google_vertex': {
        const { accessToken, account } = await (this.vertexAuth ??= new VertexAuth()).authorize(target.keyId, secret, target.settings.timeoutMs);
        headers.set('authorization', `Bearer ${accessToken}`);
        if (account.quotaProjectId !== undefined && !headers.has('x-goog-user-project')) headers.set('x-goog-user-project', account.quotaProjectId);
        break;
      }
      case 'bedrock':
        await signBedrock(at, url, headers, req, clientAuthorization);
        break;
    }
    return { url: url.href, headers };
  }
}

/** Bedrock: an API key as a bearer token, or SigV4 over exactly what is sent, for the leased key's AWS credentials. */
async function signBedrock(at: LeasedAttempt, url: URL, headers: Headers, req: OutgoingRequest, clientAuthorization: string | null): Promise<void> {
  const { target } = at;
  const auth = parseBedrockSecret(target.keyId, target.secret);
  if (auth.kind === 'bearer') {
    headers.set('authorization', `Bearer ${auth.token}`);
    return;
  }
  // The key's region, else the endpoint's, else the one the client signed its own request for.
  const region = regionOf(target) ?? regionFromHost(url.hostname) ?? (clientAuthorization === null ? undefined : SCOPE_REGION.exec(clientAuthorization)?.[1]);
  if (region === undefined) throw missingRegion(target.keyId, 'to sign requests with SigV4');
  const plain: Record<string, string> = {};
  headers.forEach((v, k) => {
    plain[k] = v;
  });
  const signed = await signSigV4(url, plain, req.body ?? '', auth.credentials, region, req.method);
  for (const [k, v] of Object.entries(signed)) headers.set(k, v);
}
