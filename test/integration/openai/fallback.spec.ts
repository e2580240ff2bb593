import { AllKeysExhaustedError, LlmRotate, type KeyOptions, type LlmRotateOptions } from '../../../lib';
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
  async function engine(fallbacks: LlmRotateOptions['registry']['fallbacks'], useKeys = ['oa-1', 'or-1', 'az-1']): Promise<LlmRotate> {
    lr = await LlmRotate.create({ registry: { keys: keys(), fallbacks }, useKeys }, { logger: recordingLogger().logger });
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
    openai.script('sk-oa-1', 'rate_limit');
    const e = await engine({ 'gpt-4o': ['gpt-4o-mini'] }, ['oa-1', 'az-1']);
    await expect(e.chat('gpt-4o', MSG, { fallback: false })).rejects.toBeInstanceOf(AllKeysExhaustedError);
    expect(azure.requests).toHaveLength(0);
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
