import { LlmRotate, type KeyOptions, type ProviderName } from '../../../lib';
import { AnthropicFake } from '../../fakes/anthropic-fake';
import { BedrockFake } from '../../fakes/bedrock-fake';
import { GeminiFake } from '../../fakes/gemini-fake';
import { GoogleOAuthFake } from '../../fakes/google-oauth-fake';
import { OpenAiFake } from '../../fakes/openai-fake';
import { recordingLogger } from '../../support/options';

const HI = [{ role: 'user' as const, content: 'hi' }];

/** One key of a provider on its fake, the model it serves, and how to make it answer a rate limit. */
interface Side {
  provider: ProviderName;
  model: string;
  key: KeyOptions;
  rateLimit(): void;
  ok(): void;
}

/**
 * Fallback between any two providers (issue 5.3): for every ordered pair (A, B) of the seven, A's key answers its
 * provider's own rate-limit error and the call falls back, by a model-keyed chain, to B's model on B's provider.
 */
describe('cross-provider fallback between any two providers', () => {
  let openai: OpenAiFake;
  let azure: OpenAiFake;
  let openrouter: OpenAiFake;
  let anthropic: AnthropicFake;
  let gemini: GeminiFake;
  let oauth: GoogleOAuthFake;
  let vertex: GeminiFake;
  let bedrock: BedrockFake;
  const sides = new Map<ProviderName, Side>();

  beforeAll(async () => {
    oauth = await GoogleOAuthFake.start();
    [openai, azure, openrouter, anthropic, gemini, vertex, bedrock] = await Promise.all([
      OpenAiFake.start(),
      OpenAiFake.start(),
      OpenAiFake.start(),
      AnthropicFake.start(),
      GeminiFake.start(),
      GeminiFake.start({ authorize: (token) => oauth.identityOf(token) }),
      BedrockFake.start({ apiKeys: ['bedrock-api-key-x1'] }),
    ]);
    const sa = oauth.createServiceAccount('cross', 'proj-cross');
    const add = (s: Side): void => {
      sides.set(s.provider, s);
    };
    add({
      provider: 'openai',
      model: 'gpt-4o-mini',
      key: { keyId: 'openai', provider: 'openai', secretRef: 'literal://sk-cross-openai', models: ['gpt-4o-mini'], baseUrl: openai.baseUrl },
      rateLimit: () => openai.script('sk-cross-openai', 'rate_limit'),
      ok: () => openai.script('sk-cross-openai', 'ok'),
    });
    add({
      provider: 'azure_openai',
      model: 'azure-mini',
      key: { keyId: 'azure', provider: 'azure_openai', secretRef: 'literal://azure-cross-key', models: ['azure-mini'], baseUrl: azure.url },
      rateLimit: () => azure.script('azure-cross-key', 'rate_limit'),
      ok: () => azure.script('azure-cross-key', 'ok'),
    });
    add({
      provider: 'openrouter',
      model: 'meta-llama/llama-3.1-8b-instruct',
      key: { keyId: 'openrouter', provider: 'openrouter', secretRef: 'literal://sk-or-cross', models: ['meta-llama/llama-3.1-8b-instruct'], baseUrl: `${openrouter.url}/api/v1` },
      rateLimit: () => openrouter.script('sk-or-cross', 'rate_limit'),
      ok: () => openrouter.script('sk-or-cross', 'ok'),
    });
    add({
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      key: { keyId: 'anthropic', provider: 'anthropic', secretRef: 'literal://sk-ant-cross', models: ['claude-haiku-4-5'], baseUrl: anthropic.baseUrl },
      rateLimit: () => anthropic.script('sk-ant-cross', 'rate_limit'),
      ok: () => anthropic.script('sk-ant-cross', 'ok'),
    });
    add({
      provider: 'google_ai_studio',
      model: 'gemini-2.5-flash',
      key: { keyId: 'gemini', provider: 'google_ai_studio', secretRef: 'literal://gemini-cross-key', models: ['gemini-2.5-flash'], baseUrl: gemini.url },
      rateLimit: () => gemini.script('gemini-cross-key', 'rate_limit'),
      ok: () => gemini.script('gemini-cross-key', 'ok'),
    });
    add({
      provider: 'google_vertex',
      model: 'gemini-2.5-pro',
      key: { keyId: 'vertex', provider: 'google_vertex', secretRef: `literal://${sa.json}`, models: ['gemini-2.5-pro'], baseUrl: vertex.url },
      rateLimit: () => vertex.script(sa.email, 'rate_limit'),
      ok: () => vertex.script(sa.email, 'ok'),
    });
    add({
      provider: 'bedrock',
      model: 'anthropic.claude-3-haiku-20240307-v1:0',
      key: { keyId: 'bedrock', provider: 'bedrock', secretRef: 'literal://bedrock-api-key-x1', models: ['anthropic.claude-3-haiku-20240307-v1:0'], baseUrl: bedrock.url, metadata: { region: 'us-east-1' } },
      rateLimit: () => bedrock.script('bedrock-api-key-x1', 'throttling'),
      ok: () => bedrock.script('bedrock-api-key-x1', 'ok'),
    });
  });
  afterAll(async () => {
    await Promise.all([openai, azure, openrouter, anthropic, gemini, vertex, bedrock, oauth].map((f) => f.close()));
  });

  const names: ProviderName[] = ['openai', 'azure_openai', 'openrouter', 'anthropic', 'google_ai_studio', 'google_vertex', 'bedrock'];
  const pairs = names.flatMap((a) => names.filter((b) => b !== a).map((b) => [a, b] as const));

  it.each(pairs)('%s → %s', async (from, to) => {
    const a = sides.get(from) as Side;
    const b = sides.get(to) as Side;
    a.rateLimit();
    b.ok();
    const lr = await LlmRotate.create(
      { registry: { keys: [a.key, b.key], fallbacks: { [a.model]: [b.model] } }, useKeys: [a.key.keyId, b.key.keyId] },
      { logger: recordingLogger().logger },
    );
    try {
      const r = await lr.chat(a.model, HI, { maxTokens: 64 });
      expect(r.provider).toBe(to);
      expect(r.keyId).toBe(b.key.keyId);
      expect(r.content.length).toBeGreaterThan(0);
      expect(r.attempts.map((x) => [x.provider, x.model, x.outcome])).toEqual([
        [from, a.model, 'rate_limit'],
        [to, b.model, 'success'],
      ]);
      const chunks = [];
      for await (const c of lr.stream(a.model, HI, { maxTokens: 64 })) chunks.push(c);
      // The cooled key is skipped: the stream goes straight to the fallback.
      expect(new Set(chunks.map((c) => c.provider))).toEqual(new Set([to]));
      // Every fake ends its stream with its wire format's normal stop; the unified reason is 'stop'.
      expect(chunks.at(-1)?.finishReason).toBe('stop');
      expect(chunks.map((c) => c.delta).join('').length).toBeGreaterThan(0);
    } finally {
      await lr.close();
      a.ok();
    }
  });
});
