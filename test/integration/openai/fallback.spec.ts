import { AllKeysExhaustedError, LlmRotate, ProviderBadRequestError, type KeyOptions, type LlmRotateOptions } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { recordingLogger } from '../../support/options';

const MSG = [{ role: 'user' as const, content: 'hi' }];

describe('fallbacks (SPEC §2)', () => {
  let openai: OpenAiFake;
  let openrouter: OpenAiFake;
  let azure: OpenAiFake;
  let lr: LlmRotate | undefined;
  beforeEach(async () => {
    [openai, openrouter, azure] = await Promise.all([OpenAiFake.start(), OpenAiFake.start(), OpenAiFake.start()]);
  });
  afterEach(async () => {
    await lr?.close();
    lr = undefined;
    await Promise.all([openai.close(), openrouter.close(), azure.close()]);
  });

  const keys = (): KeyOptions[] => [
    { keyId: 'oa-1', provider: 'openai', secretRef: 'literal://sk-oa-1', models: ['gpt-4o', 'gpt-4o-mini'], baseUrl: `${openai.url}/v1` },
    { keyId: 'or-1', provider: 'openrouter', secretRef: 'literal://sk-or-1', baseUrl: `${openrouter.url}/api/v1` },
    { keyId: 'az-1', provider: 'azure_openai', secretRef: 'literal://az-key-1', models: ['gpt-4o-mini'], baseUrl: azure.url },
  ];
  async function engine(fallbacks: LlmRotateOptions['registry']['fallbacks'], useKeys = ['oa-1', 'or-1', 'az-1'], registryKeys = keys()): Promise<LlmRotate> {
    lr = await LlmRotate.create({ registry: { keys: registryKeys, fallbacks }, useKeys }, { logger: recordingLogger().logger });
    return lr;
  }

  it('a model-keyed chain walks other model names once the model’s keys are exhausted', async () => {
    openai.script('sk-oa-1', 'rate_limit');
    const e = await engine({ 'gpt-4o': ['gpt-4o-mini'] }, ['oa-1', 'az-1']);
    const r = await e.chat('gpt-4o', MSG);
    expect(r).toMatchObject({ provider: 'azure_openai', keyId: 'az-1', model: 'gpt-4o-mini' });
    expect(r.attempts.map((a) => `${a.provider}/${a.model}:${a.outcome}`)).toEqual(['openai/gpt-4o:rate_limit', 'azure_openai/gpt-4o-mini:success']);
    // oa-1 also lists gpt-4o-mini but is cooling: it is not retried for the fallback model.
    expect(openai.hits('sk-oa-1')).toBe(1);
  });

  it('a provider-keyed chain sends the same model to another provider, with upstream naming for OpenRouter', async () => {
    openai.script('sk-oa-1', 'server_error');
    const e = await engine({ openai: [{ provider: 'openrouter', upstream: 'openai' }] }, ['oa-1', 'or-1']);
    const r = await e.chat('gpt-4o', MSG);
    expect(r).toMatchObject({ provider: 'openrouter', keyId: 'or-1', model: 'openai/gpt-4o' });
    expect(openrouter.requests[0].path).toBe('/api/v1/chat/completions');
    expect(openrouter.requests[0].json).toMatchObject({ model: 'openai/gpt-4o' });
  });

  it('fallback: false and a 400 both stop the walk', async () => {
    openai.script('sk-oa-1', 'rate_limit', 'bad_request');
    const e = await engine({ 'gpt-4o': ['gpt-4o-mini'] }, ['oa-1', 'az-1']);
    await expect(e.chat('gpt-4o', MSG, { fallback: false })).rejects.toBeInstanceOf(AllKeysExhaustedError);
    expect(azure.requests).toHaveLength(0);
    // A 400 (the caller's fault) on the first step: surfaced at once, the chain is not walked.
    expect(await e.resetKey('oa-1')).toBe(true); // lift the cooldown of the first call
    const err = await e.chat('gpt-4o', MSG).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ProviderBadRequestError);
    expect((err as ProviderBadRequestError).status).toBe(400);
    expect(openai.hits('sk-oa-1')).toBe(2);
    expect(azure.requests).toHaveLength(0);
  });

  it('a model chain is walked in its order (reversing it changes who answers)', async () => {
    const registryKeys: KeyOptions[] = [
      { keyId: 'oa-1', provider: 'openai', secretRef: 'literal://sk-oa-1', models: ['gpt-4o'], baseUrl: `${openai.url}/v1` },
      { keyId: 'az-1', provider: 'azure_openai', secretRef: 'literal://az-key-1', models: ['gpt-4o-mini'], baseUrl: azure.url },
      { keyId: 'or-1', provider: 'openrouter', secretRef: 'literal://sk-or-1', models: ['openai/gpt-4.1'], baseUrl: `${openrouter.url}/api/v1` },
    ];
    const walk = async (chain: string[]): Promise<string[]> => {
      const e = await engine({ 'gpt-4o': chain }, ['oa-1', 'az-1', 'or-1'], registryKeys);
      const r = await e.chat('gpt-4o', MSG);
      await e.close();
      lr = undefined;
      return r.attempts.map((a) => `${a.keyId}/${a.model}:${a.outcome}`);
    };
    openai.script('sk-oa-1', 'rate_limit');
    expect(await walk(['gpt-4o-mini', 'openai/gpt-4.1'])).toEqual(['oa-1/gpt-4o:rate_limit', 'az-1/gpt-4o-mini:success']);
    expect(await walk(['openai/gpt-4.1', 'gpt-4o-mini'])).toEqual(['oa-1/gpt-4o:rate_limit', 'or-1/openai/gpt-4.1:success']);
    // When the first fallback fails too, the second one is next.
    azure.script('az-key-1', 'server_error');
    expect(await walk(['gpt-4o-mini', 'openai/gpt-4.1'])).toEqual(['oa-1/gpt-4o:rate_limit', 'az-1/gpt-4o-mini:transient', 'or-1/openai/gpt-4.1:success']);
  });

  it('a provider chain is walked in its order (reversing it changes who answers)', async () => {
    // The model is OpenRouter-shaped, so only or-1 serves it on the first step; oa-1 and az-1 (no `models`) serve it
    // only as named targets of the chain. (An Azure or OpenAI key would serve a bare gpt-… id on the first step.)
    const registryKeys: KeyOptions[] = [
      { keyId: 'or-1', provider: 'openrouter', secretRef: 'literal://sk-or-1', baseUrl: `${openrouter.url}/api/v1` },
      { keyId: 'oa-1', provider: 'openai', secretRef: 'literal://sk-oa-1', baseUrl: `${openai.url}/v1` },
      { keyId: 'az-1', provider: 'azure_openai', secretRef: 'literal://az-key-1', baseUrl: azure.url },
    ];
    const walk = async (chain: Array<{ provider: 'azure_openai' | 'openai' }>): Promise<string[]> => {
      const e = await engine({ openrouter: chain }, ['or-1', 'oa-1', 'az-1'], registryKeys);
      const r = await e.chat('openai/gpt-4o', MSG);
      await e.close();
      lr = undefined;
      return r.attempts.map((a) => `${a.provider}:${a.outcome}`);
    };
    const openaiThenAzure = [{ provider: 'openai' as const }, { provider: 'azure_openai' as const }];
    openrouter.script('sk-or-1', 'server_error');
    expect(await walk(openaiThenAzure)).toEqual(['openrouter:transient', 'openai:success']);
    expect(await walk([...openaiThenAzure].reverse())).toEqual(['openrouter:transient', 'azure_openai:success']);
    openai.script('sk-oa-1', 'rate_limit');
    expect(await walk(openaiThenAzure)).toEqual(['openrouter:transient', 'openai:rate_limit', 'azure_openai:success']);
  });

  it('opts.provider restricts the first step to one provider', async () => {
    const e = await engine({}, ['oa-1', 'az-1']);
    const r = await e.chat('gpt-4o-mini', MSG, { provider: 'azure_openai' });
    expect(r.provider).toBe('azure_openai');
  });

  it('a key without `models` serves its own provider’s model family only', async () => {
    const e = await engine({}, ['or-1', 'az-1']);
    // "anthropic/claude-3.5-haiku" is an OpenRouter-shaped id: only or-1 serves it.
    expect((await e.chat('anthropic/claude-3.5-haiku', MSG)).keyId).toBe('or-1');
    await expect(e.chat('claude-3-5-haiku-latest', MSG)).rejects.toThrow('No configured key serves model "claude-3-5-haiku-latest"');
  });
});
