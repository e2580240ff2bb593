import type { ProviderSettings } from '../../../lib/core/config/resolved-config';
import type { OutgoingRequest } from '../../../lib/core/fetch/outgoing';
import { requestModel, topLevelString } from '../../../lib/core/fetch/request-model';
import type { ProviderName } from '../../../lib';

function req(url: string, body?: string | Uint8Array, formModel?: string): OutgoingRequest {
  return { url: new URL(url), method: 'POST', headers: new Headers(), body: body as OutgoingRequest['body'], signal: undefined, extras: {}, formModel };
}

describe('the model a request names', () => {
  describe('topLevelString: a top-level key of a JSON object, without parsing it', () => {
    it.each<[string, string | undefined]>([
      ['{"model":"gpt-4o"}', 'gpt-4o'],
      ['  {\n  "messages": [{"role":"user","content":"{\\"model\\": \\"evil\\"}"}],\n  "model" : "gpt-4o-mini"\n}', 'gpt-4o-mini'],
      ['{"tools":[{"function":{"parameters":{"properties":{"model":{"type":"string"}}}}}],"model":"m2"}', 'm2'],
      ['{"metadata":{"model":"nested"},"stream":true}', undefined],
      ['{"a":"x\\\\","model":"after-escaped-backslash"}', 'after-escaped-backslash'],
      ['{"modelx":"no","xmodel":"no"}', undefined],
      ['{"model":"caf\\u00e9"}', 'café'],
      ['{"model":42}', undefined],
      ['{"input":"model","model":"real"}', 'real'],
      ['["model","gpt"]', undefined],
      ['{"model":"unterminated', undefined],
      ['not json', undefined],
    ])('%s → %s', (json, model) => {
      expect(topLevelString(json, 'model')).toBe(model);
    });

    it('skips a large string (a base64 image) without looking into it', () => {
      const image = 'A'.repeat(2_000_000) + '\\"model\\":\\"no\\"';
      expect(topLevelString(`{"messages":[{"content":[{"image_url":{"url":"data:image/png;base64,${image}"}}]}],"model":"vision"}`, 'model')).toBe('vision');
    });
  });

  it.each<[ProviderName, string, string | undefined, string | undefined]>([
    ['openai', 'https://api.openai.com/v1/chat/completions', '{"model":"gpt-4o-mini","messages":[]}', 'gpt-4o-mini'],
    ['anthropic', 'https://api.anthropic.com/v1/messages', '{"max_tokens":5,"model":"claude-3-5-haiku-latest"}', 'claude-3-5-haiku-latest'],
    ['openrouter', 'https://openrouter.ai/api/v1/chat/completions', '{"model":"anthropic/claude-3.5-sonnet"}', 'anthropic/claude-3.5-sonnet'],
    ['google_ai_studio', 'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse', '{"contents":[]}', 'gemini-2.0-flash'],
    ['google_ai_studio', 'https://generativelanguage.googleapis.com/v1beta/tunedModels/my-tuned:generateContent', '{}', 'my-tuned'],
    ['google_ai_studio', 'https://generativelanguage.googleapis.com/v1beta/files', '{"model":"models/text-embedding-004"}', 'text-embedding-004'],
    ['google_vertex', 'https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent', '{}', 'gemini-2.0-flash'],
    ['bedrock', 'https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream', '{}', 'anthropic.claude-3-haiku-20240307-v1:0'],
    ['azure_openai', 'https://r.openai.azure.com/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21', '{}', 'my-deploy'],
    ['azure_openai', 'https://r.openai.azure.com/openai/v1/responses', '{"model":"my-deploy"}', 'my-deploy'],
    ['openai', 'https://api.openai.com/v1/models', undefined, undefined],
  ])('%s %s', (provider, url, body, model) => {
    expect(requestModel(provider, req(url, body), undefined)).toBe(model);
  });

  it('an Azure deployment is mapped back to the model whose `deployments` entry names it', () => {
    const settings = { deployments: { 'gpt-4o-mini': 'mini-prod' } } as unknown as ProviderSettings;
    expect(requestModel('azure_openai', req('https://r.openai.azure.com/openai/deployments/mini-prod/embeddings'), settings)).toBe('gpt-4o-mini');
    expect(requestModel('azure_openai', req('https://r.openai.azure.com/openai/deployments/other/embeddings'), settings)).toBe('other');
  });

  it('a multipart form names its model in a field; a JSON body sent as bytes is read too', () => {
    expect(requestModel('openai', req('https://api.openai.com/v1/audio/transcriptions', new Uint8Array([1, 2]), 'whisper-1'), undefined)).toBe('whisper-1');
    expect(requestModel('openai', req('https://api.openai.com/v1/embeddings', new TextEncoder().encode(' {"model":"text-embedding-3-small"}')), undefined)).toBe('text-embedding-3-small');
    expect(requestModel('openai', req('https://api.openai.com/v1/files', new Uint8Array([0xff, 0x7b])), undefined)).toBeUndefined();
  });
});
