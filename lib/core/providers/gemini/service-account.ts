import { SecretResolutionError } from '../../errors';

/** The fields of a Google service-account key file that Vertex AI auth needs. */
export interface ServiceAccount {
  readonly clientEmail: string;
  readonly privateKey: string;
  readonly privateKeyId: string | undefined;
  readonly projectId: string | undefined;
  readonly quotaProjectId: string | undefined;
  /** The OAuth token endpoint the key file names (Google's by default). */
  readonly tokenUri: string | undefined;
}

/**
 * Reads a service-account JSON (a google_vertex key's secret). Problems name the key and the missing field,
 * never any part of the value (JSON.parse's own message quotes the input, so it is not used).
 */
export function parseServiceAccount(keyId: string, secret: string): ServiceAccount {
  let doc: unknown;
  try {
    doc = JSON.parse(secret);
  } catch {
    throw new SecretResolutionError(keyId, 'the google_vertex secret is not valid JSON (expected a service-account key file)');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new SecretResolutionError(keyId, 'the google_vertex secret is not a JSON object (expected a service-account key file)');
  }
  const o = doc as Record<string, unknown>;
  if (o.type !== undefined && o.type !== 'service_account') {
    throw new SecretResolutionError(keyId, `the google_vertex secret has type "${String(o.type).slice(0, 40)}"; only "service_account" key files are supported`);
  }
  const clientEmail = str(o.client_email);
  const privateKey = str(o.private_key);
  if (clientEmail === undefined) throw new SecretResolutionError(keyId, 'the service-account JSON has no client_email');
  if (privateKey === undefined) throw new SecretResolutionError(keyId, 'the service-account JSON has no private_key');
  return {
    clientEmail,
    privateKey,
    privateKeyId: str(o.private_key_id),
    projectId: str(o.project_id),
    quotaProjectId: str(o.quota_project_id),
    tokenUri: str(o.token_uri),
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
