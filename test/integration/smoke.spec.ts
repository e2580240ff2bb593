import { LlmRotate } from '../../lib';
import { OpenAiFake } from '../fakes/openai-fake';
import { makeOptions } from '../support/options';

describe('smoke', () => {
  let fake: OpenAiFake;
  beforeAll(async () => {
    fake = await OpenAiFake.start();
  });
  afterAll(() => fake.close());

  it('rotates past a 429 to a working key', async () => {
    fake.script('sk-test-a', 'rate_limit');
    const lr = await LlmRotate.create(makeOptions(fake.baseUrl, [{ keyId: 'a', priority: 1 }, { keyId: 'b' }]));
    const r = await lr.chat('gpt-4o-mini', [{ role: 'user', content: 'hi' }]);
    expect(r.keyId).toBe('b');
    expect(r.attempts.map((a) => a.outcome)).toEqual(['rate_limit', 'success']);
    const chunks = [];
    for await (const c of lr.stream('gpt-4o-mini', [{ role: 'user', content: 'hi' }])) chunks.push(c);
    expect(chunks.map((c) => c.delta).join('')).toBe('Hello from gpt-4o-mini');
    expect(chunks.at(-1)?.usage).toEqual({ inputTokens: 9, outputTokens: 3 });
    await lr.close();
  });
});
