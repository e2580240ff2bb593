import OpenAI, { AzureOpenAI } from 'openai';
import { LlmRotate } from '../../../lib';
import { OpenAiFake } from '../../fakes/openai-fake';
import { recordingLogger } from '../../support/options';

const MSG = [{ role: 'user' as const, content: 'hi' }];

describe('azure_openai and openrouter on the chat-completions wire format', () => {
  let fake: OpenAiFake;
  beforeEach(async () => {
    fake = await OpenAiFake.start();
  });
  afterEach(() => fake.close());

  it('azure: deployment URL, api-version, api-key header, deployments map', async () => {
    const lr = await LlmRotate.create(
      {
        registry: {
          keys: [{ keyId: 'az', provider: 'azure_openai', secretRef: 'literal://azure-secret-1', models: ['gpt-4o-mini'] }],
          providers: { azure_openai: { baseUrl: fake.url, apiVersion: '2025-01-01-preview', deployments: { 'gpt-4o-mini': 'prod-mini' } } },
        },
        useKeys: ['az'],
      },
      { logger: recordingLogger().logger },
    );
    const r = await lr.chat('gpt-4o-mini', MSG);
    expect(r.content).toBe('Hello from prod-mini');
    const req = fake.requests[0];
    expect(req.path).toBe('/openai/deployments/prod-mini/chat/completions?api-version=2025-01-01-preview');
    expect(req.headers['api-key']).toBe('azure-secret-1');
    expect(req.headers.authorization).toBeUndefined();
    expect(req.json).not.toHaveProperty('model');
    const chunks = [];
    for await (const c of lr.stream('gpt-4o-mini', MSG)) chunks.push(c);
    expect(chunks.at(-1)?.finishReason).toBe('stop');
    await lr.close();
  });

  it('azure without any baseUrl is a configuration error naming the key', async () => {
    await expect(
      LlmRotate.create({ registry: { keys: [{ keyId: 'az', provider: 'azure_openai', secretRef: 'literal://x1234' }] }, useKeys: ['az'] }),
    ).rejects.toThrow('registry.keys(az).baseUrl: azure_openai needs a baseUrl');
  });

  it("openrouter: bearer auth and the provider's extra headers", async () => {
    const lr = await LlmRotate.create(
      {
        registry: {
          keys: [{ keyId: 'or', provider: 'openrouter', secretRef: 'literal://sk-or-v1-test', baseUrl: `${fake.url}/api/v1` }],
          providers: { openrouter: { headers: { 'HTTP-Referer': 'https://example.test', 'X-Title': 'demo' } } },
        },
        useKeys: ['or'],
      },
      { logger: recordingLogger().logger },
    );
    await lr.chat('meta-llama/llama-3.1-8b-instruct', MSG);
    const req = fake.requests[0];
    expect(req.headers.authorization).toBe('Bearer sk-or-v1-test');
    expect(req.headers['http-referer']).toBe('https://example.test');
    expect(req.headers['x-title']).toBe('demo');
    await lr.close();
  });

  it('the fake speaks the format the official openai and AzureOpenAI clients expect (JSON and SSE)', async () => {
    const client = new OpenAI({ apiKey: 'sk-test-sdk', baseURL: fake.baseUrl, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MSG });
    expect(r.choices[0].message.content).toBe('Hello from gpt-4o-mini');
    expect(r.usage?.prompt_tokens).toBe(9);
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MSG, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      usage = c.usage ?? usage;
    }
    expect(text).toBe('Hello from gpt-4o-mini');
    expect(usage?.completion_tokens).toBe(3);
    const azure = new AzureOpenAI({ apiKey: 'az-sdk', endpoint: fake.url, apiVersion: '2024-10-21', deployment: 'dep-1', maxRetries: 0 });
    const a = await azure.chat.completions.create({ model: 'gpt-4o-mini', messages: MSG });
    expect(a.choices[0].message.content).toBe('Hello from gpt-4o-mini');
    expect(fake.requests.at(-1)?.path).toBe('/openai/deployments/dep-1/chat/completions?api-version=2024-10-21');
    fake.script('sk-test-sdk', 'rate_limit');
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: MSG })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });
});
