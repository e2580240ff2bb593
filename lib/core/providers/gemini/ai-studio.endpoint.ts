import type { CallTarget } from '../provider.interfaces';
import { headerSafe } from '../wire-checks';
import { trimSlash, type GeminiEndpoint } from './gemini.adapter';

/**
 * Google AI Studio (the Gemini Developer API): `{base}/v1beta/models/{model}:generateContent`, the API key in
 * `x-goog-api-key` (never in the URL, so it cannot land in access logs). `apiVersion` in the provider settings
 * switches to e.g. `v1`.
 */
export const aiStudioEndpoint: GeminiEndpoint = {
  provider: 'google_ai_studio',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',
  locate(t: CallTarget, method: string) {
    const version = t.settings.apiVersion ?? 'v1beta';
    return {
      url: `${trimSlash(t.baseUrl)}/${version}/${modelPath(t.model)}:${method}`,
      headers: { 'x-goog-api-key': headerSafe(t.keyId, t.secret) },
    };
  },
};

/** `gemini-2.0-flash`, `models/gemini-2.0-flash` and `tunedModels/my-model` all name a model resource. */
function modelPath(model: string): string {
  const slash = model.indexOf('/');
  const collection = slash > 0 ? model.slice(0, slash) : '';
  if (collection === 'models' || collection === 'tunedModels') return `${collection}/${encodeURIComponent(model.slice(slash + 1))}`;
  return `models/${encodeURIComponent(model)}`;
}
