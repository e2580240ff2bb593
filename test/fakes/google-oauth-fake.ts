import { generateKeyPairSync, randomBytes, verify, type KeyObject, createPublicKey } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { FakeHttpServer, sendJson, type RecordedRequest } from './fake-http';
import { ScriptedFake } from './scripted-fake';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

/** What the token endpoint does for one request of a given service account. */
export type OAuthBehavior = 'ok' | 'invalid_grant' | 'server_error' | 'rate_limit' | 'timeout';

export interface FakeServiceAccount {
  email: string;
  projectId: string;
  privateKeyId: string;
  /** PKCS#8 PEM, as in a real key file. */
  privateKey: string;
  /** The key file (what a google_vertex key's secretRef resolves to). */
  json: string;
}

interface Issued {
  email: string;
  expiresAt: number;
}

/**
 * A fake of Google's OAuth 2.0 token endpoint for service accounts (RFC 7523 JWT bearer grant) on 127.0.0.1.
 * It verifies each assertion for real: RS256 signature against the public key of the service account named in
 * `iss`, `aud`, `iat`/`exp` and the cloud-platform scope, then issues an opaque access token with `expiresInSec`.
 * Tokens it issued can be checked with {@link identityOf} (the Gemini fake's `authorize`).
 */
export class GoogleOAuthFake extends ScriptedFake<OAuthBehavior> {
  expiresInSec: number;
  /** Every assertion payload accepted, in order. */
  readonly grants: Array<{ email: string; payload: Record<string, unknown> }> = [];
  private readonly publicKeys = new Map<string, KeyObject>();
  private readonly issued = new Map<string, Issued>();
  private readonly requestsByEmail = new Map<string, number>();

  private constructor(http: FakeHttpServer, opts: { expiresInSec?: number }) {
    super(http, 'ok');
    this.expiresInSec = opts.expiresInSec ?? 3600;
  }

  static start(opts: { expiresInSec?: number } = {}): Promise<GoogleOAuthFake> {
    return ScriptedFake.boot((http) => new GoogleOAuthFake(http, opts));
  }

  get tokenUri(): string {
    return `${this.http.url}/token`;
  }

  /** A new service account with a fresh RSA key, registered with this endpoint; its key file names this `token_uri`. */
  createServiceAccount(name: string, projectId = 'fake-project'): FakeServiceAccount {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const email = `${name}@${projectId}.iam.gserviceaccount.com`;
    const privateKeyId = randomBytes(20).toString('hex');
    this.publicKeys.set(email, createPublicKey(publicKey));
    const json = JSON.stringify(
      {
        type: 'service_account',
        project_id: projectId,
        private_key_id: privateKeyId,
        private_key: privateKey,
        client_email: email,
        client_id: String(100000000000000000000n + BigInt(this.publicKeys.size)),
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: this.tokenUri,
        auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
        client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
        universe_domain: 'googleapis.com',
      },
      null,
      2,
    );
    return { email, projectId, privateKeyId, privateKey, json };
  }

  /** Token requests made for a service account (or all of them). */
  tokenRequests(email?: string): number {
    if (email !== undefined) return this.requestsByEmail.get(email) ?? 0;
    let n = 0;
    for (const v of this.requestsByEmail.values()) n += v;
    return n;
  }

  /** The service account a token was issued to, while it is valid. */
  identityOf(token: string): string | undefined {
    const t = this.issued.get(token);
    return t !== undefined && t.expiresAt > Date.now() ? t.email : undefined;
  }

  /** Tokens issued to a service account, oldest first. */
  tokensOf(email: string): string[] {
    return [...this.issued.entries()].filter(([, v]) => v.email === email).map(([k]) => k);
  }

  protected override handle(req: RecordedRequest, res: ServerResponse): void {
    if (req.method !== 'POST' || req.path !== '/token') {
      sendJson(res, 404, { error: 'not_found', error_description: `Unknown path ${req.path}` });
      return;
    }
    const form = new URLSearchParams(req.body);
    if (form.get('grant_type') !== JWT_BEARER) {
      sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type: ' + String(form.get('grant_type')) });
      return;
    }
    const checked = this.verifyAssertion(form.get('assertion') ?? '');
    if (typeof checked === 'string') {
      sendJson(res, 400, { error: 'invalid_grant', error_description: checked });
      return;
    }
    const { email, payload } = checked;
    this.requestsByEmail.set(email, (this.requestsByEmail.get(email) ?? 0) + 1);
    switch (this.scripts.next(email)) {
      case 'invalid_grant':
        sendJson(res, 400, { error: 'invalid_grant', error_description: 'Invalid grant: account not found' });
        return;
      case 'server_error':
        sendJson(res, 503, { error: 'internal_failure', error_description: 'Backend Error' });
        return;
      case 'rate_limit':
        sendJson(res, 429, { error: 'rate_limit_exceeded', error_description: 'Too many token requests' }, { 'retry-after': '30' });
        return;
      case 'timeout':
        return;
      case 'ok':
        break;
    }
    this.grants.push({ email, payload });
    const token = `ya29.fake-${randomBytes(24).toString('base64url')}`;
    this.issued.set(token, { email, expiresAt: Date.now() + this.expiresInSec * 1000 });
    sendJson(res, 200, { access_token: token, expires_in: this.expiresInSec, token_type: 'Bearer' });
  }

  /** Google's checks on a JWT bearer assertion; a string is the `error_description` of a refusal. */
  private verifyAssertion(assertion: string): { email: string; payload: Record<string, unknown> } | string {
    const parts = assertion.split('.');
    if (parts.length !== 3) return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.';
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as Record<string, unknown>;
      payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return 'Invalid JWT: not base64url JSON.';
    }
    if (header.alg !== 'RS256') return `Invalid JWT: unsupported alg ${String(header.alg)}.`;
    const email = typeof payload.iss === 'string' ? payload.iss : '';
    const key = this.publicKeys.get(email);
    if (key === undefined) return 'Invalid grant: account not found';
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify('RSA-SHA256', signed, key, Buffer.from(parts[2], 'base64url'))) return 'Invalid JWT Signature.';
    if (payload.aud !== this.tokenUri && payload.aud !== GOOGLE_TOKEN_URL) return `Invalid JWT: aud ${String(payload.aud)} is not the token endpoint.`;
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(payload.iat);
    const exp = Number(payload.exp);
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || iat > now + 60 || exp <= now - 60 || exp - iat > 3600) {
      return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
    }
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scopes.includes(CLOUD_PLATFORM)) return 'Invalid OAuth scope or ID token audience provided.';
    return { email, payload };
  }
}
