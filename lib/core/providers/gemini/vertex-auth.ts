import { createHash } from 'node:crypto';
import { LlmRotateError, ProviderHttpError, ProviderTimeoutError, ProviderTransportError, UnsupportedFeatureError } from '../../errors';
import { parseServiceAccount, type ServiceAccount } from './service-account';

const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Distinct service accounts whose auth clients are kept (a reload that rotates key files evicts the oldest). */
const MAX_CLIENTS = 64;

/** The slice of google-auth-library (v9 / v10) used here, typed locally so the package stays optional. */
interface TransportRequest {
  url?: string | URL;
  timeout?: number;
  retryConfig?: Record<string, unknown>;
  [option: string]: unknown;
}
interface Transport {
  request(opts: TransportRequest): Promise<unknown>;
}
interface JwtClient {
  transporter: Transport;
  getAccessToken(): Promise<{ token?: string | null }>;
}
interface GoogleAuthLibrary {
  JWT: new (opts: { email: string; key: string; keyId?: string; scopes: string[] }) => JwtClient;
}

interface Credential {
  readonly account: ServiceAccount;
  client: JwtClient | undefined;
  /** The provider's current `timeoutMs`, read by the token transport on each token request. */
  timeoutMs: number;
}

export interface VertexAuthorization {
  readonly accessToken: string;
  readonly account: ServiceAccount;
}

let googleAuth: GoogleAuthLibrary | undefined;

/** Loads the optional peer on first use by a google_vertex key, never before. */
function loadGoogleAuth(): GoogleAuthLibrary {
  if (googleAuth === undefined) {
    try {
      googleAuth = require('google-auth-library') as GoogleAuthLibrary;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
        throw new UnsupportedFeatureError('google_vertex', 'service-account auth without the optional peer dependency google-auth-library (npm i google-auth-library)');
      }
      throw e;
    }
  }
  return googleAuth;
}

/**
 * OAuth access tokens for Vertex AI from service-account keys. One google-auth-library `JWT` client per service
 * account, cached under a SHA-256 of the key file (the map never holds the JSON as a key); the library caches the
 * token and refreshes it before it expires, and shares one refresh between concurrent callers.
 *
 * google-auth-library always posts to Google's token endpoint; a key file whose `token_uri` names another endpoint
 * (a private Google universe, an egress proxy, a test server) is honoured here by redirecting that request.
 */
export class VertexAuth {
  private readonly credentials = new Map<string, Credential>();

  /** The parsed service account of a secret, without fetching a token. */
  account(keyId: string, secret: string): ServiceAccount {
    return this.credential(keyId, secret).account;
  }

  async authorize(keyId: string, secret: string, timeoutMs: number): Promise<VertexAuthorization> {
    const cred = this.credential(keyId, secret);
    cred.timeoutMs = timeoutMs;
    const client = (cred.client ??= this.createClient(cred));
    let token: string | null | undefined;
    try {
      token = (await client.getAccessToken()).token;
    } catch (e) {
      throw tokenError(keyId, e, timeoutMs);
    }
    if (typeof token !== 'string' || token.length === 0) {
      throw new ProviderTransportError('google_vertex', `google_vertex token endpoint returned no access_token for key "${keyId}"`, 'EMALFORMED');
    }
    return { accessToken: token, account: cred.account };
  }

  private credential(keyId: string, secret: string): Credential {
    const id = createHash('sha256').update(secret).digest('base64url');
    let cred = this.credentials.get(id);
    if (cred === undefined) {
      cred = { account: parseServiceAccount(keyId, secret), client: undefined, timeoutMs: 0 };
      if (this.credentials.size >= MAX_CLIENTS) this.credentials.delete(this.credentials.keys().next().value as string);
      this.credentials.set(id, cred);
    }
    return cred;
  }

  private createClient(cred: Credential): JwtClient {
    const { JWT } = loadGoogleAuth();
    const sa = cred.account;
    const client = new JWT({ email: sa.clientEmail, key: sa.privateKey, keyId: sa.privateKeyId, scopes: [CLOUD_PLATFORM_SCOPE] });
    const inner = client.transporter;
    const tokenUri = sa.tokenUri !== undefined && sa.tokenUri !== GOOGLE_TOKEN_URL ? sa.tokenUri : undefined;
    client.transporter = {
      request(opts: TransportRequest): Promise<unknown> {
        const isTokenRequest = String(opts.url) === GOOGLE_TOKEN_URL;
        return inner.request({
          ...opts,
          url: isTokenRequest && tokenUri !== undefined ? tokenUri : opts.url,
          // Bounded like any upstream call; one retry of a failed token request, then the engine rotates keys.
          timeout: opts.timeout ?? cred.timeoutMs,
          retryConfig: isTokenRequest ? { ...opts.retryConfig, retry: 1, noResponseRetries: 1 } : opts.retryConfig,
          // Node's own fetch, as for every other call of this library (gaxios would otherwise import() the ESM
          // node-fetch, which a CommonJS test runner such as Jest cannot load).
          fetchImplementation: opts.fetchImplementation ?? fetch,
        });
      },
    };
    return client;
  }
}

/**
 * Maps a failed token request: the endpoint refusing the credential (400 invalid_grant, 401, 403) is the key's
 * auth failure; 429 a rate limit; 5xx, timeouts and connection failures are transient. The message carries the
 * endpoint's `error` / `error_description` only, never the request (whose assertion is a signed credential).
 */
function tokenError(keyId: string, e: unknown, timeoutMs: number): Error {
  if (e instanceof LlmRotateError) return e;
  const err = (e ?? {}) as { status?: unknown; code?: unknown; name?: unknown; response?: { status?: unknown; data?: unknown; headers?: unknown } };
  const status = typeof err.status === 'number' ? err.status : typeof err.response?.status === 'number' ? err.response.status : undefined;
  if (status !== undefined) {
    const data = err.response?.data as { error?: unknown; error_description?: unknown } | undefined;
    const what = typeof data?.error === 'string' ? `${data.error}${typeof data.error_description === 'string' ? `: ${data.error_description}` : ''}` : 'no error detail';
    const kind = status === 429 ? 'rate_limit' : status >= 500 || status === 408 ? 'transient' : 'auth';
    return new ProviderHttpError('google_vertex', status, kind, `google_vertex token endpoint answered ${status} for key "${keyId}": ${what}`);
  }
  const code = typeof err.code === 'string' ? err.code : typeof err.name === 'string' ? err.name : 'connection failed';
  if (code === 'TimeoutError' || code === 'AbortError') return new ProviderTimeoutError('google_vertex', timeoutMs);
  return new ProviderTransportError('google_vertex', `google_vertex token request failed for key "${keyId}": ${code}`, code);
}
