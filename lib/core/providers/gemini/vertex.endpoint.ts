import { SecretResolutionError } from '../../errors';
import type { CallTarget } from '../provider.interfaces';
import { trimSlash, type GeminiEndpoint } from './gemini.adapter';
import { VertexAuth } from './vertex-auth';
import { headerSafe } from '../wire-checks';

const DEFAULT_BASE = 'https://{location}-aiplatform.googleapis.com';
const DEFAULT_LOCATION = 'us-central1';

/**
 * Vertex AI: `{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent`
 * with `Authorization: Bearer <OAuth access token>` minted from the key's service-account JSON.
 *
 * project: the key's `metadata.project`, else `registry.providers.google_vertex.project`, else the key file's
 * `project_id`. location: the key's `metadata.location`, else the provider's `location`, else `us-central1`.
 * The base URL may contain `{location}`; the default is the regional endpoint (`global` → aiplatform.googleapis.com).
 */
export class VertexEndpoint implements GeminiEndpoint {
  readonly provider = 'google_vertex' as const;
  readonly defaultBaseUrl = DEFAULT_BASE;
  private readonly auth = new VertexAuth();

  async locate(t: CallTarget, method: string): Promise<{ url: string; headers: Record<string, string> }> {
    const project = metaString(t, 'project') ?? t.settings.project ?? this.auth.account(t.keyId, t.secret).projectId;
    if (project === undefined) {
      // Not the key's health: the configuration lacks a project. Name where to put it.
      throw new SecretResolutionError(t.keyId, 'the service-account JSON has no project_id; set registry.providers.google_vertex.project or the key\'s metadata.project');
    }
    const { accessToken, account } = await this.auth.authorize(t.keyId, t.secret, t.settings.timeoutMs);
    const location = metaString(t, 'location') ?? t.settings.location ?? DEFAULT_LOCATION;
    const base = t.baseUrl === DEFAULT_BASE && location === 'global' ? 'https://aiplatform.googleapis.com' : t.baseUrl.replace('{location}', location);
    const version = t.settings.apiVersion ?? 'v1';
    const url =
      `${trimSlash(base)}/${version}/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}` +
      `/publishers/google/models/${encodeURIComponent(modelId(t.model))}:${method}`;
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}` };
    if (account.quotaProjectId !== undefined) headers['x-goog-user-project'] = headerSafe(t.keyId, account.quotaProjectId, 'the key file\'s quota_project_id');
    return { url, headers };
  }
}

/** `gemini-2.0-flash`, `models/gemini-2.0-flash` or `publishers/google/models/gemini-2.0-flash` → the bare id. */
function modelId(model: string): string {
  if (model.startsWith('publishers/google/models/')) return model.slice('publishers/google/models/'.length);
  if (model.startsWith('models/')) return model.slice('models/'.length);
  return model;
}

function metaString(t: CallTarget, name: string): string | undefined {
  const v = t.metadata[name];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
