import { ConfigurationError } from '../../errors';
import type { CallTarget } from '../provider.interfaces';
import { headerSafe } from '../wire-checks';
import { loadSigning, type AwsCredentials } from './aws-libs';

/** A Bedrock key's secret: a Bedrock API key (bearer token) or AWS credentials to sign with SigV4. */
export type BedrockAuth = { readonly kind: 'bearer'; readonly token: string } | { readonly kind: 'sigv4'; readonly credentials: AwsCredentials };

/**
 * A secret that is a JSON object is AWS credentials `{ accessKeyId, secretAccessKey, sessionToken? }`;
 * anything else is a Bedrock API key. A JSON object without both fields is a clear error naming the key
 * (never the value), rather than being sent as a bearer token.
 */
export function parseBedrockSecret(keyId: string, secret: string): BedrockAuth {
  const s = secret.trim();
  if (!s.startsWith('{')) return { kind: 'bearer', token: headerSafe(keyId, s) };
  let doc: unknown;
  try {
    doc = JSON.parse(s);
  } catch {
    throw new ConfigurationError([`registry.keys(${keyId}).secretRef: the bedrock secret looks like JSON but does not parse (expected { accessKeyId, secretAccessKey, sessionToken? })`]);
  }
  const o = doc as Record<string, unknown>;
  if (typeof o.accessKeyId !== 'string' || o.accessKeyId === '' || typeof o.secretAccessKey !== 'string' || o.secretAccessKey === '') {
    throw new ConfigurationError([`registry.keys(${keyId}).secretRef: bedrock AWS credentials need string fields accessKeyId and secretAccessKey`]);
  }
  if (o.sessionToken !== undefined && typeof o.sessionToken !== 'string') {
    throw new ConfigurationError([`registry.keys(${keyId}).secretRef: bedrock AWS credentials' sessionToken must be a string`]);
  }
  // accessKeyId and sessionToken are sent in headers (the credential scope, x-amz-security-token).
  const credentials: AwsCredentials = { accessKeyId: headerSafe(keyId, o.accessKeyId, 'the accessKeyId'), secretAccessKey: o.secretAccessKey };
  if (typeof o.sessionToken === 'string' && o.sessionToken !== '') credentials.sessionToken = headerSafe(keyId, o.sessionToken, 'the sessionToken');
  return { kind: 'sigv4', credentials };
}

/** The key's `metadata.region`, else the provider's `region`, else its `location`. */
export function regionOf(t: Pick<CallTarget, 'metadata' | 'settings'>): string | undefined {
  const m = t.metadata.region;
  if (typeof m === 'string' && m !== '') return m;
  return t.settings.region || t.settings.location || undefined;
}

/** `bedrock-runtime.us-east-1.amazonaws.com` (or a FIPS / VPC endpoint of that shape) → `us-east-1`. */
export function regionFromHost(hostname: string): string | undefined {
  return /(?:^|\.)bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/.exec(hostname)?.[1];
}

export function missingRegion(keyId: string, why: string): ConfigurationError {
  return new ConfigurationError([
    `registry.keys(${keyId}): bedrock needs an AWS region ${why}; set metadata.region on the key or registry.providers.bedrock.region`,
  ]);
}

/**
 * Signs exactly what will be sent: the method, the URL's real (already percent-encoded) path, the headers given,
 * and the body bytes. Returns the headers to send: the given ones plus `x-amz-date`, `x-amz-content-sha256`,
 * `x-amz-security-token` (temporary credentials) and `authorization`. `host` is signed but not returned,
 * because fetch derives the same value from the URL.
 */
export async function signSigV4(
  url: URL,
  headers: Record<string, string>,
  body: string | Uint8Array,
  credentials: AwsCredentials,
  region: string,
  method = 'POST',
): Promise<Record<string, string>> {
  const { SignatureV4, Sha256 } = loadSigning();
  const signer = new SignatureV4({ credentials, region, service: 'bedrock', sha256: Sha256 });
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers: { ...headers, host: url.host },
    body,
  });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k !== 'host') out[k] = v;
  return out;
}
