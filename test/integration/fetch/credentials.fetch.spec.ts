import { LlmRotate, type KeyOptions, type LlmRotateOptions, type ProviderOptions } from '../../../lib';
import { AnthropicFake } from '../../fakes/anthropic-fake';
import { BedrockFake } from '../../fakes/bedrock-fake';
import { GeminiFake } from '../../fakes/gemini-fake';
import { GoogleOAuthFake } from '../../fakes/google-oauth-fake';
import { OpenAiFake } from '../../fakes/openai-fake';
import { recordingLogger } from '../../support/options';

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
const CLAUDE = JSON.stringify({ model: 'claude-3-5-haiku-latest', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
const GEMINI = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
const CONVERSE = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
/** What a client sends when its API key is the placeholder `managed`: every place a credential may go. */
const PLACEHOLDERS = { authorization: 'Bearer managed', 'x-api-key': 'managed', 'api-key': 'managed', 'x-goog-api-key': 'managed' };

/** One key of `provider` whose `baseUrl` points nowhere: a rotating fetch keeps the client's URL. */
async function engine(provider: KeyOptions['provider'], secret: string, extra: Partial<KeyOptions> = {}, providers?: Record<string, ProviderOptions>): Promise<LlmRotate> {
  const options: LlmRotateOptions = {
    registry: { keys: [{ keyId: 'k1', provider, secretRef: `literal://${secret}`, baseUrl: 'http://127.0.0.1:9/never-used', ...extra }], providers },
    useKeys: ['k1'],
  };
  return LlmRotate.create(options, { logger: recordingLogger().logger });
}

function post(body: string, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json', ...PLACEHOLDERS, ...headers }, body };
}

/** The leased key's credential goes where its provider expects it, replacing every placeholder the client sent. */
describe('fetchFor: the leased key\'s credential, per provider', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((x) => x.close()));
  });
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    open.push(x);
    return x;
  };

  it.each(['openai', 'openrouter'] as const)('%s: Authorization: Bearer <key>; the other credential headers are removed', async (provider) => {
    const fake = track(await OpenAiFake.start());
    const lr = track(await engine(provider, 'sk-fetch-cred-0123456789'));
    const res = await lr.fetchFor(provider)(`${fake.baseUrl}/chat/completions`, post(CHAT));
    expect(res.status).toBe(200);
    await res.text();
    const h = fake.requests[0].headers;
    expect(h.authorization).toBe('Bearer sk-fetch-cred-0123456789');
    expect(h['x-api-key']).toBeUndefined();
    expect(h['api-key']).toBeUndefined();
    expect(h['x-goog-api-key']).toBeUndefined();
  });

  it('azure_openai: api-key: <key>, and no Authorization', async () => {
    const fake = track(await OpenAiFake.start());
    const lr = track(await engine('azure_openai', 'azure-fetch-key-0123456789'));
    const res = await lr.fetchFor('azure_openai')(`${fake.url}/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21`, post(CHAT));
    expect(await res.json()).toMatchObject({ choices: [{ message: { content: 'Hello from gpt-4o-mini' } }] });
    const h = fake.requests[0].headers;
    expect(h['api-key']).toBe('azure-fetch-key-0123456789');
    expect(h.authorization).toBeUndefined();
    expect(fake.requests[0].path).toBe('/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21');
  });

  it('anthropic: x-api-key: <key>, and no Authorization (the SDK sends its key as a bearer token)', async () => {
    const fake = track(await AnthropicFake.start());
    const lr = track(await engine('anthropic', 'sk-ant-fetch-cred-0123456789'));
    const res = await lr.fetchFor('anthropic')(`${fake.url}/v1/messages`, post(CLAUDE, { 'anthropic-version': '2023-06-01' }));
    expect(res.status).toBe(200);
    await res.text();
    const h = fake.requests[0].headers;
    expect(h['x-api-key']).toBe('sk-ant-fetch-cred-0123456789');
    expect(h.authorization).toBeUndefined();
    expect(h['anthropic-version']).toBe('2023-06-01');
  });

  it('google_ai_studio: x-goog-api-key: <key>; a ?key= in the URL is removed, never replaced', async () => {
    const fake = track(await GeminiFake.start());
    const lr = track(await engine('google_ai_studio', 'AIza-fetch-cred-0123456789'));
    const res = await lr.fetchFor('google_ai_studio')(`${fake.url}/v1beta/models/gemini-2.0-flash:generateContent?key=managed&alt=json`, post(GEMINI));
    expect(res.status).toBe(200);
    await res.text();
    expect(fake.calls[0].identity).toBe('AIza-fetch-cred-0123456789');
    expect(fake.requests[0].path).toBe('/v1beta/models/gemini-2.0-flash:generateContent?alt=json');
    expect(fake.requests[0].headers.authorization).toBeUndefined();
  });

  it("google_vertex: Authorization: Bearer <an OAuth token minted from the key's service account>", async () => {
    const oauth = track(await GoogleOAuthFake.start());
    const fake = track(await GeminiFake.start({ authorize: (t) => oauth.identityOf(t) }));
    const sa = oauth.createServiceAccount('fetch-vertex', 'proj-fetch');
    const lr = track(await engine('google_vertex', sa.json));
    const f = lr.fetchFor('google_vertex');
    const url = `${fake.url}/v1/projects/proj-fetch/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent`;
    for (let i = 0; i < 2; i++) {
      const res = await f(url, post(GEMINI));
      expect(res.status).toBe(200);
      await res.text();
    }
    expect(fake.calls.map((c) => c.identity)).toEqual([sa.email, sa.email]);
    expect(fake.calls[0].token).toMatch(/^ya29\.fake-/);
    // One token for both requests: the service account's token is cached and refreshed by google-auth-library.
    expect(oauth.tokenRequests(sa.email)).toBe(1);
  });

  it('bedrock with a Bedrock API key: Authorization: Bearer <key>', async () => {
    const fake = track(await BedrockFake.start({ apiKeys: ['bedrock-fetch-api-key'] }));
    const lr = track(await engine('bedrock', 'bedrock-fetch-api-key', { metadata: { region: 'us-east-1' } }));
    const res = await lr.fetchFor('bedrock')(`${fake.url}/model/amazon.nova-lite-v1%3A0/converse`, post(CONVERSE));
    expect(res.status).toBe(200);
    await res.text();
    expect(fake.calls[0]).toMatchObject({ auth: 'bearer', identity: 'bedrock-fetch-api-key', modelId: 'amazon.nova-lite-v1:0' });
  });

  it("bedrock with AWS credentials: the client's SigV4 signature is replaced by one for the leased key, in the region the client signed for", async () => {
    // Built at run time, so no credential-shaped literal is committed.
    const accessKeyId = ['AKIA', 'FETCHSIGV4000001'].join('');
    const creds = { accessKeyId, secretAccessKey: 'fetch-sigv4-secret-0123456789' };
    const fake = track(await BedrockFake.start({ credentials: [creds] }));
    // No region on the key and a loopback host: the region comes from the client's own credential scope.
    const lr = track(await engine('bedrock', JSON.stringify(creds)));
    const clientSigned = {
      authorization: 'AWS4-HMAC-SHA256 Credential=managed/20260101/us-west-2/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
      'x-amz-date': '20260101T000000Z',
      'x-amz-security-token': 'managed-session',
    };
    const res = await lr.fetchFor('bedrock')(`${fake.url}/model/amazon.nova-lite-v1%3A0/converse`, post(CONVERSE, clientSigned));
    expect(res.status).toBe(200);
    await res.text();
    expect(fake.calls[0]).toMatchObject({ auth: 'sigv4', identity: accessKeyId, region: 'us-west-2' });
    expect(fake.requests[0].headers['x-amz-security-token']).toBeUndefined();
  });

  it("the provider's configured headers are added where the client did not set them", async () => {
    const fake = track(await OpenAiFake.start());
    const lr = track(await engine('openrouter', 'sk-or-fetch-0123456789', {}, { openrouter: { headers: { 'http-referer': 'https://example.test', 'x-title': 'configured' } } }));
    const res = await lr.fetchFor('openrouter')(`${fake.baseUrl}/chat/completions`, post(CHAT, { 'x-title': 'from the client' }));
    await res.text();
    expect(fake.requests[0].headers['http-referer']).toBe('https://example.test');
    expect(fake.requests[0].headers['x-title']).toBe('from the client');
  });
});
